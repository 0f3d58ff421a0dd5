// The API key cache (shared/auth/key-cache.ts) on a real PostgreSQL 15: a verified key is served from memory,
// revokeApiKey's notice drops it at once, a change no notice announces takes effect within the TTL, an expired key
// is refused from the cache too, and while the LISTEN connection is down every verification reads the database.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createApiKey, revokeApiKey, verifyApiKey } from '../../shared/auth/api-keys.ts';
import { ApiConfig, loadConfig } from '../../shared/core/config.ts';
import { apiSecurity } from '../../functions/api/security.ts';
import {
  API_KEY_REVOKED_CHANNEL,
  createApiKeyCache,
  listenForRevocations,
  type ApiKeyCache,
  type RevocationListener,
} from '../../shared/auth/key-cache.ts';

const TTL_MS = 1_500;
let pgh: PostgresHandle;
let dbh: DatabaseHandle;
let cache: ApiKeyCache;
let listener: RevocationListener;

before(async () => {
  pgh = await startPostgres();
  dbh = await openDatabase({ databaseUrl: pgh.databaseUrl });
  cache = createApiKeyCache({ ttlMs: TTL_MS });
  listener = listenForRevocations(pgh.databaseUrl, cache);
  await listener.ready;
});
after(async () => {
  await listener?.close();
  await dbh?.close();
  await pgh?.stop();
});

const verify = (key: string, now = new Date()) => verifyApiKey(dbh.db, key, now, cache);
const renameInSql = (id: string, name: string) =>
  dbh.db.updateTable('api_keys').set({ name }).where('id', '=', id).execute();

/** Polls `check` until it holds, for at most `ms`; resolves with the time it took. */
async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms`);
    await sleep(5);
  }
  return Date.now() - start;
}

test('a verified key is served from memory until the TTL, then read again', async () => {
  assert.equal(cache.active, true, 'the listener is up');
  const { id, key } = await createApiKey(dbh.db, 'cached');
  assert.equal((await verify(key))?.name, 'cached');
  await renameInSql(id, 'renamed');
  assert.equal((await verify(key))?.name, 'cached', 'the second verification did not read the row');
  await within(TTL_MS + 1_000, async () => (await verify(key))?.name === 'renamed');
});

test('revokeApiKey notifies: the key is refused at once, without waiting for the TTL', async () => {
  const { id, key } = await createApiKey(dbh.db, 'doomed');
  assert.ok(await verify(key));
  assert.ok(await verify(key), 'now cached');
  assert.equal(await revokeApiKey(dbh.db, id), true);
  const took = await within(500, async () => (await verify(key)) === null);
  assert.ok(took < TTL_MS, `refused after ${took} ms, before the TTL`);
});

test('a revocation no notice announces (plain SQL) still takes effect within the TTL', async () => {
  const { id, key } = await createApiKey(dbh.db, 'by-hand');
  assert.ok(await verify(key));
  await dbh.db.updateTable('api_keys').set({ revoked_at: new Date() }).where('id', '=', id).execute();
  assert.ok(await verify(key), 'still served from memory: the documented bound');
  await within(TTL_MS + 1_000, async () => (await verify(key)) === null);
});

test('a cached key past its expiry is refused from the cache', async () => {
  const expiresAt = new Date(Date.now() + 60_000);
  const { key } = await createApiKey(dbh.db, 'expiring', { expiresAt });
  assert.ok(await verify(key));
  assert.ok(await verify(key, new Date(expiresAt.getTime() - 1)));
  assert.equal(await verify(key, new Date(expiresAt.getTime() + 1)), null);
});

test('while the LISTEN connection is down nothing is served from memory; it reconnects and serves again', async () => {
  const { id, key } = await createApiKey(dbh.db, 'listener-down');
  assert.ok(await verify(key));
  await sql`select pg_terminate_backend(pid) from pg_stat_activity
    where query = ${`LISTEN ${API_KEY_REVOKED_CHANNEL}`}`.execute(dbh.db);
  await within(2_000, async () => !cache.active);
  assert.equal(cache.size, 0, 'what was cached is forgotten');
  await renameInSql(id, 'seen-at-once');
  assert.equal((await verify(key))?.name, 'seen-at-once', 'read from the database');
  await within(5_000, async () => cache.active);
  assert.ok(await verify(key));
  await renameInSql(id, 'later');
  assert.equal((await verify(key))?.name, 'seen-at-once', 'served from memory again');
});

test('a key read while a revocation notice arrived is not cached: the drop cannot be overtaken by the read', () => {
  const c = createApiKeyCache({ ttlMs: 60_000 });
  c.setActive(true);
  const key = { id: 'ak_race', name: 'race', userId: 'u', role: 'member', scope: 'write' } as const;
  const now = Date.now();
  const before = c.epoch; // verifyApiKey notes this before its read
  c.dropId(key.id); // the notice is handled while the read is on its way
  c.set('hash-race', key, null, now, before);
  assert.equal(c.get('hash-race', now), undefined, 'the read that spanned the drop is not served');
  c.set('hash-race', key, null, now, c.epoch);
  assert.deepEqual(c.get('hash-race', now), key, 'a read after the drop is');
  const beforeReconnect = c.epoch;
  c.setActive(false);
  c.setActive(true);
  c.set('hash-other', key, null, now, beforeReconnect);
  assert.equal(c.get('hash-other', now), undefined, 'nor one that spanned a reconnect');
});

test("API_KEY_CACHE: 'on' opens the API's one LISTEN connection (closed with it), 'off' none", async () => {
  const listening = async () =>
    (
      await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity
        where query = ${`LISTEN ${API_KEY_REVOKED_CHANNEL}`}`.execute(dbh.db)
    ).rows[0]!.n;
  const already = await listening(); // this file's own listener
  const security = (cache: 'on' | 'off') =>
    apiSecurity(
      loadConfig(ApiConfig, { DATABASE_URL: pgh.databaseUrl, API_KEYS_REQUIRED: 'true', API_KEY_CACHE: cache }),
      dbh.db,
      { mode: 'cloud' },
    );
  // 'off' starts first, so by the time 'on' is listening it would have been too: exactly one more is 'on''s.
  const off = security('off');
  const on = security('on');
  await within(5_000, async () => (await listening()) >= already + 1);
  await sleep(200);
  assert.equal(await listening(), already + 1, "only 'on' listens");
  await on.close();
  await within(5_000, async () => (await listening()) === already);
  await off.close();
});

// API keys (shared/auth/api-keys.ts) on a real PostgreSQL 15 started by test/support/services.ts:
// only hashes are stored, verification by Bearer header or bare key, revocation by id or key.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { firstAdmin } from '../../shared/db/users.ts';
import {
  API_KEY_PREFIX,
  createApiKey,
  hashApiKey,
  listApiKeys,
  revokeApiKey,
  verifyApiKey,
} from '../../shared/auth/api-keys.ts';

let pgh: PostgresHandle;
let dbh: DatabaseHandle;

before(async () => {
  pgh = await startPostgres();
  dbh = await openDatabase({ databaseUrl: pgh.databaseUrl });
});
after(async () => {
  await dbh?.close();
  await pgh?.stop();
});

test('a created key verifies; only its sha256 is stored', async () => {
  const { id, key, userId } = await createApiKey(dbh.db, 'ci');
  const admin = await firstAdmin(dbh.db);
  assert.equal(userId, admin.id, 'without --user a key belongs to the first admin');
  const expected = { id, name: 'ci', userId, role: 'admin', scope: 'write' };
  assert.ok(key.startsWith(API_KEY_PREFIX));
  assert.match(id, /^ak_[0-9a-f]{12}$/);
  assert.deepEqual(await verifyApiKey(dbh.db, `Bearer ${key}`), expected);
  assert.deepEqual(await verifyApiKey(dbh.db, key), expected);
  const rows = await dbh.db.selectFrom('api_keys').selectAll().where('id', '=', id).execute();
  assert.equal(rows.length, 1);
  assert.equal(rows[0].key_hash, hashApiKey(key));
  assert.ok(
    !JSON.stringify(rows).includes(key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + 16)),
    'the key itself is nowhere in the row',
  );
});

test('unknown, malformed and missing keys do not verify', async () => {
  const { key } = await createApiKey(dbh.db, 'other');
  const flipped = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
  assert.equal(await verifyApiKey(dbh.db, `Bearer ${flipped}`), null);
  assert.equal(await verifyApiKey(dbh.db, 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig'), null);
  assert.equal(await verifyApiKey(dbh.db, ''), null);
  assert.equal(await verifyApiKey(dbh.db, undefined), null);
  await assert.rejects(createApiKey(dbh.db, '   '), RangeError);
});

test('revocation by id or by key takes effect at once and is reported once', async () => {
  const a = await createApiKey(dbh.db, 'by-id');
  const b = await createApiKey(dbh.db, 'by-key');
  assert.equal(await revokeApiKey(dbh.db, a.id), true);
  assert.equal(await verifyApiKey(dbh.db, a.key), null);
  assert.equal(await revokeApiKey(dbh.db, a.id), false, 'already revoked');
  assert.equal(await revokeApiKey(dbh.db, `Bearer ${b.key}`), true);
  assert.equal(await verifyApiKey(dbh.db, b.key), null);
  assert.equal(await revokeApiKey(dbh.db, 'ak_000000000000'), false);
  const listed = await listApiKeys(dbh.db);
  const byId = new Map(listed.map((k) => [k.id, k]));
  assert.ok(byId.get(a.id)?.revokedAt instanceof Date);
  assert.ok(byId.get(b.id)?.revokedAt instanceof Date);
  assert.ok(listed.some((k) => k.name === 'ci' && k.revokedAt === null));
});

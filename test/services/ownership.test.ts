// Whose archive it is, through the API on PostgreSQL 15 and on PGlite: each user's keys see only their own
// archives in get, list, search and downloads; another user's delete and retry answer 404 and change nothing;
// a read key cannot write; expired and revoked keys are refused; an admin sees others only with ?owner=.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { http, tempDir } from '../support/embedded.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createUser } from '../../shared/db/users.ts';
import { updateArticleMeta } from '../../shared/db/articles.ts';
import { claimArtifact, findArtifact, markFailed, markSucceeded } from '../../shared/db/artifacts.ts';
import { createApiKey, revokeApiKey } from '../../shared/auth/api-keys.ts';
import { createAuthenticator } from '../../shared/auth/identity.ts';
import { createInProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { createLocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { createApp } from '../../functions/api/app.ts';

const CONFIG = {
  DEDUP_WINDOW_SECONDS: 3600,
  MAX_BODY_BYTES: 16384,
  RATE_LIMIT_PER_MINUTE: 0,
  READ_RATE_LIMIT_PER_MINUTE: 0,
  SIGNED_URL_TTL_SECONDS: 60,
  LEASE_SECONDS: 60,
};

for (const backend of ['postgres', 'pglite'] as const) {
  describe(`ownership on ${backend === 'postgres' ? 'PostgreSQL 15' : 'PGlite'}`, () => {
    let pg: PostgresHandle | undefined;
    let dbh: DatabaseHandle;
    let server: Server;
    let base = '';
    let dir: Awaited<ReturnType<typeof tempDir>>;
    const keys: Record<string, string> = {};
    const ids: Record<string, string> = {};
    const as = (who: string, path: string, init: RequestInit & { json?: unknown } = {}) =>
      http(base, path, { ...init, headers: { authorization: `Bearer ${keys[who]}`, ...(init.headers ?? {}) } });

    before(async () => {
      dir = await tempDir();
      if (backend === 'postgres') pg = await startPostgres();
      dbh = await openDatabase(pg ? { databaseUrl: pg.databaseUrl } : { memory: true });
      const db = dbh.db;
      const alice = await createUser(db, { name: 'alice', email: 'alice@example.org' });
      const bob = await createUser(db, { name: 'bob' });
      const root = await createUser(db, { name: 'root', role: 'admin' });
      keys.alice = (await createApiKey(db, 'alice laptop', { userId: alice.id })).key;
      keys.aliceRead = (await createApiKey(db, 'alice reader', { userId: alice.id, scope: 'read' })).key;
      keys.bob = (await createApiKey(db, 'bob phone', { userId: bob.id })).key;
      keys.root = (await createApiKey(db, 'root', { userId: root.id })).key;
      const soon = await createApiKey(db, 'expiring', { userId: alice.id, expiresAt: new Date(Date.now() + 60_000) });
      await db
        .updateTable('api_keys')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('id', '=', soon.id)
        .execute();
      keys.expired = soon.key;
      const doomed = await createApiKey(db, 'revoked', { userId: alice.id });
      assert.equal(await revokeApiKey(db, doomed.id), true);
      keys.revoked = doomed.key;

      const bus = createInProcessBus({ logger: silentLogger() });
      const app = createApp({
        db,
        blobs: createLocalBlobStore({ root: join(dir.path, 'blobs') }),
        publisher: bus,
        logger: silentLogger(),
        guard: { allowPrivateNetworks: false, resolve: async () => ['93.184.215.14'] },
        config: CONFIG,
        authenticate: createAuthenticator({ db, keysRequired: true }),
      });
      server = createServer(app);
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

      // The same page archived by both (dedup and Idempotency-Key are per owner), one more of Alice's own.
      for (const [who, url] of [
        ['alice', 'https://news.test/shared-story'],
        ['bob', 'https://news.test/shared-story'],
        ['alice', 'https://alice.test/notes'],
      ]) {
        const r = await as(who!, '/archive', {
          method: 'POST',
          json: { url, formats: ['pdf', 'readable'] },
          headers: { 'Idempotency-Key': 'same-key-' + url },
        });
        assert.equal(r.status, 202, `${who} archives ${url}: ${JSON.stringify(r.body)}`);
        ids[`${who} ${url}`] = r.body.id;
      }
      for (const [name, id] of Object.entries(ids)) {
        await updateArticleMeta(db, id, { title: `Lighthouse keepers (${name})`, text_content: 'lighthouse keepers' });
        await claimArtifact(db, id, 'pdf', 60);
        const blob = await createLocalBlobStore({ root: join(dir.path, 'blobs') }).put(
          `articles/${id}/page.pdf`,
          `%PDF of ${name}`,
          { contentType: 'application/pdf', metadata: {} },
        );
        await markSucceeded(db, id, 'pdf', {
          storageKey: blob.key,
          contentType: 'application/pdf',
          sizeBytes: blob.size,
          sha256: blob.sha256,
        });
        await claimArtifact(db, id, 'readable', 60);
        await markFailed(db, id, 'readable', 'timeout', 'too slow');
      }
    });
    after(async () => {
      await new Promise((r) => server?.close(r));
      await dbh?.close();
      await pg?.stop();
      await dir?.remove();
    });

    const alicesStory = () => ids['alice https://news.test/shared-story']!;
    const bobsStory = () => ids['bob https://news.test/shared-story']!;

    test('each user gets, lists, searches and downloads only their own archives', async () => {
      assert.notEqual(alicesStory(), bobsStory(), 'the same URL is not deduplicated across owners');
      assert.equal((await as('alice', `/archives/${alicesStory()}`)).status, 200);
      assert.equal((await as('alice', `/archives/${bobsStory()}`)).status, 404);
      assert.equal((await as('bob', `/archives/${alicesStory()}`)).status, 404);
      const list = async (who: string, q = '') =>
        ((await as(who, `/archives${q}`)).body.items as Array<{ id: string }>).map((i) => i.id).sort();
      assert.deepEqual(await list('alice'), [alicesStory(), ids['alice https://alice.test/notes']!].sort());
      assert.deepEqual(await list('bob'), [bobsStory()]);
      assert.deepEqual(await list('bob', '?q=lighthouse'), [bobsStory()]);
      assert.equal((await list('alice', '?q=lighthouse')).length, 2);
      assert.deepEqual(await list('bob', `?url=${encodeURIComponent('https://alice.test/notes')}`), []);
      const own = await fetch(`${base}/archives/${bobsStory()}/artifacts/pdf`, {
        headers: { authorization: `Bearer ${keys.bob}` },
      });
      assert.equal(own.status, 200);
      assert.equal(await own.text(), '%PDF of bob https://news.test/shared-story');
      assert.equal((await as('bob', `/archives/${alicesStory()}/artifacts/pdf`)).status, 404);
    });

    test("another user's delete and retry answer 404 and change nothing", async () => {
      const before = await findArtifact(dbh.db, alicesStory(), 'readable');
      assert.equal((await as('bob', `/archives/${alicesStory()}`, { method: 'DELETE' })).status, 404);
      assert.equal((await as('bob', `/archives/${alicesStory()}/retry`, { method: 'POST' })).status, 404);
      assert.equal((await as('bob', `/archives/${alicesStory()}/share`, { method: 'POST' })).status, 404);
      const after = await findArtifact(dbh.db, alicesStory(), 'readable');
      assert.deepEqual(
        [after?.status, after?.attempts, after?.error_code],
        [before?.status, before?.attempts, before?.error_code],
      );
      assert.equal((await as('alice', `/archives/${alicesStory()}`)).body.status, 'partial');
    });

    test('a read key reads but cannot write; expired and revoked keys are refused', async () => {
      assert.equal((await as('aliceRead', `/archives/${alicesStory()}`)).status, 200);
      const write = await as('aliceRead', '/archive', { method: 'POST', json: { url: 'https://x.test/' } });
      assert.equal(write.status, 403);
      assert.equal(write.body.type, 'urn:htbase:problem:insufficient-scope');
      assert.equal((await as('aliceRead', `/archives/${alicesStory()}`, { method: 'DELETE' })).status, 403);
      for (const k of ['expired', 'revoked']) {
        const r = await as(k, '/archives');
        assert.equal(r.status, 401, k);
        assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      }
      assert.equal((await http(base, '/archives')).status, 401, 'no credentials at all');
    });

    test('an admin sees another user only through ?owner=; a member may not name another owner', async () => {
      assert.deepEqual((await as('root', '/archives')).body.items, [], 'without the filter: only their own');
      assert.equal((await as('root', `/archives/${bobsStory()}`)).status, 404);
      const bobs = (await as('root', '/archives?owner=bob')).body.items.map((i: { id: string }) => i.id);
      assert.deepEqual(bobs, [bobsStory()]);
      assert.equal((await as('root', '/archives?owner=alice')).body.items.length, 2);
      assert.equal((await as('root', `/archives/${bobsStory()}?owner=bob`)).status, 200);
      assert.equal((await as('root', `/archives/${bobsStory()}?owner=alice`)).status, 404);
      assert.equal((await as('root', '/archives?owner=nobody')).status, 400);
      assert.equal((await as('bob', '/archives?owner=alice')).status, 403);
      assert.equal((await as('bob', '/archives?owner=bob')).status, 200, 'naming yourself is fine');
    });

    test('a share link opens the archive and its files with no credentials, until it is revoked', async () => {
      const made = await as('alice', `/archives/${alicesStory()}/share`, { method: 'POST' });
      assert.equal(made.status, 201);
      const { token, url } = made.body as { token: string; url: string };
      const view = await http(base, url);
      assert.equal(view.status, 200);
      assert.equal(view.body.id, alicesStory());
      assert.equal(view.body.links.artifacts.pdf, `${url}/artifacts/pdf`);
      const file = await fetch(`${base}${view.body.links.artifacts.pdf}`);
      assert.equal(file.status, 200);
      assert.equal(await file.text(), '%PDF of alice https://news.test/shared-story');
      assert.equal((await http(base, `/archives/${alicesStory()}`)).status, 401, 'the link opens nothing else');
      assert.equal((await as('bob', `/archives/${alicesStory()}/share/${token}`, { method: 'DELETE' })).status, 404);
      assert.equal((await http(base, url)).status, 200, "bob's attempt revoked nothing");
      assert.equal((await as('alice', `/archives/${alicesStory()}/share/${token}`, { method: 'DELETE' })).status, 204);
      assert.equal((await http(base, url)).status, 404);
      assert.equal((await fetch(`${base}${url}/artifacts/pdf`)).status, 404);
    });
  });
}

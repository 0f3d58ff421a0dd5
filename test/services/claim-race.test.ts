// Claims racing on a real PostgreSQL 15 (row locks under READ COMMITTED, a pool of several connections): batch
// claims of a capture message (claimArtifacts) and single-format claims of the same articles at once. Every format
// goes to exactly one claimer, once, no transaction deadlocks, and each article's version counts exactly the claim
// transactions that took something.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createArticle, findArticle } from '../../shared/db/articles.ts';
import { claimArtifact, claimArtifacts, listArtifacts } from '../../shared/db/artifacts.ts';
import type { Format } from '../../shared/core/formats.ts';
import { adminId } from '../support/owners.ts';

let pgh: PostgresHandle;
let dbh: DatabaseHandle;

before(async () => {
  pgh = await startPostgres();
  dbh = await openDatabase({ databaseUrl: pgh.databaseUrl, maxConnections: 8 });
});
after(async () => {
  await dbh?.close();
  await pgh?.stop();
});

const FORMATS: Format[] = ['screenshot', 'pdf', 'singlefile', 'readable'];

test('batch and single claims racing over the same articles give each format to exactly one claimer', async () => {
  const owner = await adminId(dbh.db);
  const ids: string[] = [];
  for (let i = 0; i < 12; i++) {
    const id = randomUUID();
    const url = `https://example.com/${id}`;
    const r = await createArticle(dbh.db, {
      id,
      ownerId: owner,
      url,
      normalizedUrl: url,
      formats: FORMATS,
      dedupWindowSeconds: 0,
      force: true,
      leaseSeconds: 300,
    });
    assert.equal(r.kind, 'created');
    ids.push(id);
  }
  const start = new Map<string, number>();
  for (const id of ids) start.set(id, Number((await findArticle(dbh.db, id))!.version));

  // Per article: three deliveries of the whole message and one single claim per format, all at once.
  const claims = new Map<string, Format[]>(ids.map((id) => [id, []]));
  const taking = new Map<string, number>(ids.map((id) => [id, 0]));
  await Promise.all(
    ids.flatMap((id) => [
      ...[0, 1, 2].map(async () => {
        const c = await claimArtifacts(dbh.db, id, FORMATS, 300);
        claims.get(id)!.push(...c.claimed);
        if (c.claimed.length) taking.set(id, taking.get(id)! + 1);
        assert.equal(c.transition !== null, c.claimed.length > 0, 'a bump exactly when something was claimed');
      }),
      ...FORMATS.map(async (f) => {
        const c = await claimArtifact(dbh.db, id, f, 300);
        if (c.kind === 'claimed') {
          claims.get(id)!.push(f);
          taking.set(id, taking.get(id)! + 1);
        } else assert.equal(c.kind, 'busy', `${f} was claimed by someone else`);
      }),
    ]),
  );

  for (const id of ids) {
    assert.deepEqual([...claims.get(id)!].sort(), [...FORMATS].sort(), 'each format claimed once, by one claimer');
    for (const a of await listArtifacts(dbh.db, id)) {
      assert.equal(a.status, 'running', a.format);
      assert.equal(a.attempts, 1, `${a.format} attempted once`);
    }
    const version = Number((await findArticle(dbh.db, id))!.version);
    assert.equal(version - start.get(id)!, taking.get(id), 'one version bump per claim transaction that took any');
  }
});

// `verifyArtifacts` (htbase verify) on PGlite and the local blob store: untouched artifacts verify, a changed
// byte, a truncated file and a deleted object are each reported with what was expected and what was found.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, truncateSync, writeFileSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { firstAdmin } from '../../shared/db/users.ts';
import { createLocalBlobStore, type LocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { verifyArtifacts, type VerifyResult } from '../../shared/jobs/verify.ts';

let dbh: DatabaseHandle;
let blobs: LocalBlobStore;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'htbase-verify-'));
  dbh = await openDatabase({ memory: true });
  blobs = createLocalBlobStore({ root: join(dir, 'blobs') });
});
after(async () => {
  await dbh?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function archive(files: Record<string, string>): Promise<string> {
  const id = randomUUID();
  const owner = await firstAdmin(dbh.db);
  await dbh.db
    .insertInto('articles')
    .values({
      id,
      url: 'https://example.com/',
      normalized_url: 'https://example.com/',
      status: 'complete',
      owner_id: owner.id,
    })
    .execute();
  for (const [format, body] of Object.entries(files)) {
    const key = `articles/${id}/${format}.bin`;
    const stored = await blobs.put(key, body, { contentType: 'application/octet-stream', metadata: {} });
    await dbh.db
      .insertInto('artifacts')
      .values({
        article_id: id,
        format,
        status: 'succeeded',
        storage_key: key,
        sha256: stored.sha256,
        size_bytes: stored.size,
      })
      .execute();
  }
  return id;
}

test('every stored artifact verifies, and each kind of tampering is reported', async () => {
  const good = await archive({ pdf: 'pdf bytes', screenshot: 'png bytes' });
  const bad = await archive({ singlefile: '<html>original</html>', readable: '{"text":"hello"}', pdf: 'pdf 2' });
  const first = await verifyArtifacts({ db: dbh.db, blobs });
  assert.deepEqual([first.checked, first.ok, first.problems.length], [5, 5, 0]);

  const path = (id: string, f: string) => blobs.pathOf(`articles/${id}/${f}.bin`);
  const changed = readFileSync(path(bad, 'singlefile'), 'utf8').replace('original', 'forgery!');
  writeFileSync(path(bad, 'singlefile'), changed); // same length, other bytes
  truncateSync(path(bad, 'readable'), 3);
  unlinkSync(path(bad, 'pdf'));

  const seen: VerifyResult[] = [];
  const second = await verifyArtifacts({ db: dbh.db, blobs, onResult: (r) => seen.push(r) });
  assert.equal(second.checked, 5);
  assert.equal(second.ok, 2);
  assert.equal(seen.length, 5, 'every artifact is reported as it is checked');
  const byFormat = Object.fromEntries(second.problems.map((p) => [p.format, p]));
  assert.deepEqual(Object.keys(byFormat).sort(), ['pdf', 'readable', 'singlefile']);
  assert.equal(byFormat.singlefile!.outcome, 'mismatch');
  assert.equal(byFormat.singlefile!.actual!.size, byFormat.singlefile!.expected.size);
  assert.notEqual(byFormat.singlefile!.actual!.sha256, byFormat.singlefile!.expected.sha256);
  assert.equal(byFormat.readable!.outcome, 'mismatch');
  assert.equal(byFormat.readable!.actual!.size, 3);
  assert.equal(byFormat.pdf!.outcome, 'missing');
  assert.ok(second.problems.every((p) => p.articleId === bad));
  assert.ok(seen.filter((r) => r.articleId === good).every((r) => r.outcome === 'ok'));
});

// The single process (`npm start`) with its artifacts in an S3-compatible bucket (the SigV4-verifying S3 fake):
// the fixture site archived through the API lands in the bucket byte for byte, downloads and the summary come from
// it, DELETE empties its prefix, `htbase backup`/`restore` carry it into an empty instance, a wrong secret stops the start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import { freePort } from '../support/services.ts';
import { startS3Fake, type S3Fake } from '../fakes/s3-server.ts';
import { StorageUnavailableError } from '../../shared/adapters/s3-config.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'containers/standalone/cli/htbase.js');
const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
const CREDS = { accessKeyId: 'HTBASEE2EKEY', secretAccessKey: 'e2e-secret-abcdef' };
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let fake: S3Fake;
let site: StaticServer;
const dirs: Array<{ path: string; remove(): Promise<void> }> = [];
let app: Embedded | undefined;

const s3Env = (bucket: string, secret = CREDS.secretAccessKey) => ({
  S3_BUCKET: bucket,
  S3_ENDPOINT: fake.endpoint,
  S3_ACCESS_KEY_ID: CREDS.accessKeyId,
  S3_SECRET_ACCESS_KEY: secret,
  S3_FORCE_PATH_STYLE: 'true',
});

before(async () => {
  fake = await startS3Fake({ ...CREDS, buckets: ['htbase-a', 'htbase-restored'] });
  site = await serveDir(FIXTURE);
});
after(async () => {
  await app?.close();
  await site?.close();
  await fake?.close();
  for (const d of dirs) await d.remove();
});

/** The succeeded artifacts the database lists for an article, with the keys they are stored under. */
async function storedArtifacts(a: Embedded, id: string) {
  return a.db.db
    .selectFrom('artifacts')
    .select(['format', 'storage_key', 'sha256', 'size_bytes'])
    .where('article_id', '=', id)
    .where('status', '=', 'succeeded')
    .execute();
}

/** Every stored artifact of `id` is in `bucket` under its key, and the API serves exactly those bytes. */
async function assertServedFromBucket(a: Embedded, id: string, bucket: string): Promise<Record<string, string>> {
  const rows = await storedArtifacts(a, id);
  assert.ok(rows.length >= 4, `stored: ${rows.map((r) => r.format).join(',')}`);
  const objects = fake.bucket(bucket);
  const digests: Record<string, string> = {};
  for (const r of rows) {
    const o = objects.get(r.storage_key!);
    assert.ok(o, `${r.format} is in the bucket under ${r.storage_key}`);
    assert.equal(sha256(o.body), r.sha256, `${r.format}: the bucket holds the bytes the row describes`);
    assert.equal(o.body.length, Number(r.size_bytes));
    assert.equal(o.metadata.sha256, r.sha256);
    digests[r.format] = r.sha256!;
    if (r.format === 'thumbnail') continue;
    // Raw bytes, as a browser saves them (readable.json too, which http() would parse).
    const dl = await fetch(`${a.url}/archives/${id}/artifacts/${r.format}`);
    assert.equal(dl.status, 200, `download ${r.format}`);
    assert.equal(sha256(Buffer.from(await dl.arrayBuffer())), r.sha256, `download ${r.format} byte for byte`);
  }
  return digests;
}

async function cli(args: string[], env: Record<string, string>) {
  const r = await promisify(execFile)(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), ...env },
    timeout: 120_000,
  }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  return { code: 'code' in r && typeof r.code === 'number' ? r.code : 0, out: r.stdout, err: r.stderr };
}

let articleId = '';
let digests: Record<string, string> = {};
let dataDir = '';

test('the fixture site archived in the single process is stored in S3, summarized from it and downloaded from it', async () => {
  const dir = await tempDir('htbase-s3-');
  dirs.push(dir);
  dataDir = dir.path;
  app = await startTestEmbedded(dataDir, s3Env('htbase-a'));
  const submit = await http(app.url, '/archive', { method: 'POST', json: { url: `${site.origin}/index.html` } });
  assert.equal(submit.status, 202);
  articleId = submit.body.id;
  const a = await waitFor(app.url, articleId, (x: any) => terminal(x) && x.summary !== null);
  assert.equal(a.status, 'complete', JSON.stringify(a.artifacts));
  for (const f of ['singlefile', 'pdf', 'screenshot', 'readable'])
    assert.equal(a.artifacts.find((x: any) => x.format === f)?.status, 'succeeded', f);
  // The summary was made from readable.json read back from the bucket (the in-process finalize event).
  assert.ok(a.summary.summary.length > 0);
  digests = await assertServedFromBucket(app, articleId, 'htbase-a');
  // Nothing went to the data directory's store.
  assert.equal(existsSync(join(dataDir, 'blobs', 'articles', articleId)), false);
  const readable = JSON.parse(fake.objects.get(`articles/${articleId}/readable.json`)!.body.toString('utf8'));
  assert.ok(readable.text.length > 0);
  assert.equal(fake.objects.get(`articles/${articleId}/page.pdf`)!.metadata['article-id'], articleId);
});

test('DELETE /archives/{id} removes its objects from the bucket', async () => {
  assert.ok(app);
  const other = await http(app.url, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/index.html`, formats: ['readable'], force: true },
  });
  const id = other.body.id;
  await waitFor(app.url, id, terminal);
  const prefix = `articles/${id}/`;
  assert.ok([...fake.objects.keys()].some((k) => k.startsWith(prefix)));
  assert.equal((await http(app.url, `/archives/${id}`, { method: 'DELETE' })).status, 204);
  assert.deepEqual(
    [...fake.objects.keys()].filter((k) => k.startsWith(prefix)),
    [],
  );
  assert.ok(fake.objects.has(`articles/${articleId}/page.pdf`), 'the other archive is untouched');
});

test('htbase backup reads the bucket; restore into an empty instance and bucket gives every file back byte for byte', async () => {
  await app?.close();
  app = undefined;
  const backupDir = await tempDir('htbase-s3-backup-');
  dirs.push(backupDir);
  const file = join(backupDir.path, 'archive.htbackup');
  const b = await cli(['backup', file], { HTBASE_DATA_DIR: dataDir, ...s3Env('htbase-a') });
  assert.equal(b.code, 0, b.err);

  const empty = await tempDir('htbase-s3-restored-');
  dirs.push(empty);
  assert.equal(fake.bucket('htbase-restored').size, 0);
  const r = await cli(['restore', file], { HTBASE_DATA_DIR: empty.path, ...s3Env('htbase-restored') });
  assert.equal(r.code, 0, r.err);
  for (const [k, o] of fake.bucket('htbase-a'))
    assert.equal(sha256(fake.bucket('htbase-restored').get(k)?.body ?? Buffer.alloc(0)), sha256(o.body), k);

  app = await startTestEmbedded(empty.path, s3Env('htbase-restored'));
  const view = await http(app.url, `/archives/${articleId}`);
  assert.equal(view.status, 200);
  assert.equal(view.body.status, 'complete');
  assert.deepEqual(await assertServedFromBucket(app, articleId, 'htbase-restored'), digests);
});

test('a wrong S3 secret stops the start with a sentence naming the setting, and no secret in it', async () => {
  const dir = await tempDir('htbase-s3-bad-');
  dirs.push(dir);
  const err = await startTestEmbedded(dir.path, s3Env('htbase-a', 'not-the-secret')).then(
    async (a) => {
      await a.close();
      assert.fail('started with a wrong secret');
    },
    (e: unknown) => e,
  );
  assert.ok(err instanceof StorageUnavailableError, String(err));
  assert.match(err.message, /S3_SECRET_ACCESS_KEY is wrong/);
  assert.doesNotMatch(err.message, /not-the-secret/);

  // `npm start` itself: exit code 2 and the sentence, no stack trace.
  const r = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'containers/standalone/main.ts')],
    {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HTBASE_DATA_DIR: dir.path,
        PORT: '0',
        ...s3Env('htbase-a', 'not-the-secret'),
      },
      timeout: 60_000,
    },
  ).catch((e: { code: number; stderr: string }) => e);
  assert.equal((r as { code?: number }).code, 2);
  assert.match(r.stderr, /S3 artifact store unavailable: .* S3_SECRET_ACCESS_KEY is wrong/);
  assert.doesNotMatch(r.stderr, /not-the-secret|at .*\.ts:\d+/);
});

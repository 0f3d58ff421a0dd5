// The one-VPS deployment of infra/compose/compose.yaml with its artifacts in an S3-compatible bucket (the S3 fake):
// every service's command as a local process on PostgreSQL 15 and the job queue, S3_* set in the .env as a user
// would; the fixture site's artifacts land in the bucket, downloads come from it, and summarize (triggered by the
// announcing store over the queue) reads readable.json back from it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { keyFor } from '../support/owners.ts';
import { startS3Fake, type S3Fake } from '../fakes/s3-server.ts';
import { api, terminalStatus, until } from './support.ts';
import { loadCompose, startComposeStack, type ComposeStack } from './compose-stack.ts';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
const BUCKET = 'htbase-vps';
const CREDS = { accessKeyId: 'HTBASEVPSKEY', secretAccessKey: 'vps-secret-0123' };
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let fake: S3Fake;
let stack: ComposeStack;
let site: StaticServer;
let key: string;
let dotenv: Record<string, string>;

before(async () => {
  site = await serveDir(FIXTURE);
  fake = await startS3Fake({ ...CREDS, buckets: [BUCKET] });
  dotenv = {
    POSTGRES_PASSWORD: 'compose-s3-password',
    HTBASE_ALLOW_PRIVATE_NETWORKS: 'true',
    QUEUE_MIN_BACKOFF_MS: '1000',
    QUEUE_MAX_BACKOFF_MS: '3000',
    QUEUE_POLL_SECONDS: '0.5',
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: fake.endpoint,
    S3_ACCESS_KEY_ID: CREDS.accessKeyId,
    S3_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  };
  stack = await startComposeStack(dotenv);
  key = await keyFor(stack.db, 'compose-s3');
});
after(async () => {
  await stack?.close();
  await fake?.close();
  await site?.close();
});

test('the compose file hands every HT Base service the S3 settings of the .env', () => {
  const c = loadCompose(dotenv);
  for (const s of ['api', 'browser', 'monolith', 'summarize', 'sweep']) {
    const env = c.services[s]!.environment!;
    assert.equal(env.S3_BUCKET, BUCKET, s);
    assert.equal(env.S3_SECRET_ACCESS_KEY, CREDS.secretAccessKey, s);
    assert.equal(env.S3_FORCE_PATH_STYLE, 'true', s);
  }
});

test('the fixture site on the VPS stack with S3: every artifact in the bucket, downloaded from it, and the summary', async () => {
  const r = await api(stack.apiUrl(), key, '/archive', { method: 'POST', json: { url: `${site.origin}/index.html` } });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  const id = r.body.id as string;
  const v = await until(
    `archive ${id} to finish with its summary`,
    async () => {
      const x = (await api(stack.apiUrl(), key, `/archives/${id}`)).body;
      return terminalStatus(x.status) && x.summary ? x : undefined;
    },
    240_000,
    500,
  );
  assert.equal(v.status, 'complete', JSON.stringify(v.artifacts));
  const files: Record<string, string> = {
    singlefile: 'singlefile.html',
    monolith: 'monolith.html',
    pdf: 'page.pdf',
    screenshot: 'screenshot.png',
    readable: 'readable.json',
  };
  for (const a of v.artifacts) {
    assert.equal(a.status, 'succeeded', `${a.format}: ${a.errorCode} ${a.errorMessage}`);
    const o = fake.objects.get(`articles/${id}/${files[a.format]}`);
    assert.ok(o, `${a.format} is in the bucket`);
    assert.equal(sha256(o.body), a.sha256, `${a.format}: the bucket holds its bytes`);
    const dl = await fetch(`${stack.apiUrl()}/archives/${id}/artifacts/${a.format}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(dl.status, 200, `${a.format} download`);
    assert.equal(sha256(Buffer.from(await dl.arrayBuffer())), a.sha256, `${a.format} downloaded byte for byte`);
  }
  assert.equal(v.summary.provider, 'extractive', 'summarize ran from the queue and read the text from the bucket');
  assert.ok(fake.requests.some((q) => q.op === 'GetObject' && q.path.endsWith(`/${id}/readable.json`)));
  assert.equal(existsSync(join(stack.dataDir, 'blobs', 'articles', id)), false, 'nothing on the volume');
});

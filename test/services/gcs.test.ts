// The Cloud Storage blob store (shared/adapters/gcs.ts) through the real @google-cloud/storage client,
// against the Cloud Storage fake: both upload paths, metadata, checksums, limits, signed URLs, deletes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { Storage } from '@google-cloud/storage';
import { startGcsFake, type GcsFake, type ObjectResource } from '../fakes/gcs-server.ts';
import { createGcsBlobStore } from '../../shared/adapters/gcs.ts';
import { NotFoundError, type BlobStore } from '../../shared/core/ports.ts';
import { PermanentError, TransientError } from '../../shared/core/errors.ts';

const BUCKET = 'htbase-archive-test';
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const clientEmail = 'signer@htbase-test.iam.gserviceaccount.com';

let fake: GcsFake;
let store: BlobStore;
let chunked: BlobStore;
const finalized: ObjectResource[] = [];

/** Deterministic pseudo-random bytes, streamed in 64 KiB pieces. */
function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
function streamOf(buf: Buffer, piece = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, i + piece);
    })(),
  );
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const key = (id: string, file: string) => `articles/${id}/${file}`;

before(async () => {
  fake = await startGcsFake({
    onFinalize: (o) => void finalized.push(o),
    signedUrlPublicKey: publicKey,
    chunkGranularity: 256 * 1024,
  });
  const storage = new Storage({ apiEndpoint: fake.apiEndpoint, projectId: 'htbase-test' });
  const signer = { clientEmail, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  store = createGcsBlobStore({ storage, bucket: BUCKET, signer, resumableThreshold: 256 * 1024 });
  chunked = createGcsBlobStore({ storage, bucket: BUCKET, resumableThreshold: 256 * 1024, chunkSize: 256 * 1024 });
});
after(async () => {
  await fake.close();
});

test('a small body goes up in one multipart request with articleId, format and sha256 metadata', async () => {
  const body = Buffer.from(JSON.stringify({ title: 'Hello', text: 'world' }));
  const k = key('11111111-1111-4111-8111-111111111111', 'readable.json');
  const before = fake.requests.length;
  const stored = await store.put(k, streamOf(body, 7), {
    contentType: 'application/json',
    metadata: { articleId: '11111111-1111-4111-8111-111111111111', format: 'readable' },
  });
  assert.deepEqual(stored, { key: k, size: body.length, sha256: sha256(body), contentType: 'application/json' });
  const uploads = fake.requests.slice(before).filter((r) => r.path.startsWith('/upload/'));
  assert.deepEqual(
    uploads.map((r) => [r.method, r.query.uploadType, r.status]),
    [['POST', 'multipart', 200]],
  );

  const info = await store.stat(k);
  assert.deepEqual(info, {
    key: k,
    size: body.length,
    contentType: 'application/json',
    metadata: { articleId: '11111111-1111-4111-8111-111111111111', format: 'readable', sha256: sha256(body) },
  });
  assert.deepEqual(await readAll(await store.get(k)), body);
  // The finalize notification carries the sha256 already (summarize names its task after it).
  await waitFor(() => finalized.some((o) => o.name === k));
  const ev = finalized.find((o) => o.name === k)!;
  assert.equal(ev.metadata?.sha256, sha256(body));
  assert.equal(ev.bucket, BUCKET);
  assert.equal(ev.size, String(body.length));
});

test('a large stream goes up resumably in one streamed request, then gets its sha256 by a metadata patch', async () => {
  const body = bytes(3 * 1024 * 1024 + 123);
  const k = key('22222222-2222-4222-8222-222222222222', 'page.pdf');
  const start = fake.requests.length;
  const stored = await store.put(k, streamOf(body), {
    contentType: 'application/pdf',
    metadata: { articleId: '22222222-2222-4222-8222-222222222222', format: 'pdf' },
  });
  assert.equal(stored.size, body.length);
  assert.equal(stored.sha256, sha256(body));
  const seen = fake.requests.slice(start).map((r) => `${r.method} ${r.query.uploadType ?? ''} ${r.status}`);
  assert.deepEqual(seen.slice(0, 2), ['POST resumable 200', 'PUT resumable 200']);
  assert.ok(
    seen.some((s) => s.startsWith('PATCH')),
    `expected a metadata patch in ${seen.join(', ')}`,
  );
  assert.equal((await store.stat(k))?.metadata.sha256, sha256(body));
  assert.deepEqual(await readAll(await store.get(k)), body);
  assert.equal(fake.openSessions(), 0);
});

test('with a chunk size the resumable upload goes in 256 KiB chunks answered 308', async () => {
  const body = bytes(1024 * 1024 + 5, 7);
  const k = key('33333333-3333-4333-8333-333333333333', 'screenshot.png');
  const start = fake.requests.length;
  const stored = await chunked.put(k, streamOf(body), {
    contentType: 'image/png',
    metadata: { articleId: '33333333-3333-4333-8333-333333333333', format: 'screenshot' },
  });
  assert.equal(stored.sha256, sha256(body));
  const puts = fake.requests.slice(start).filter((r) => r.method === 'PUT');
  assert.deepEqual(
    puts.map((r) => r.status),
    [308, 308, 308, 308, 200],
  );
  assert.deepEqual(fake.read(BUCKET, k), body);
});

test('too_large: a stream over maxBytes fails permanently, the session is cancelled and no object appears', async () => {
  const k = key('44444444-4444-4444-8444-444444444444', 'page.pdf');
  let destroyed = false;
  const src = streamOf(bytes(2 * 1024 * 1024));
  src.once('close', () => (destroyed = true));
  await assert.rejects(
    store.put(k, src, {
      contentType: 'application/pdf',
      metadata: { articleId: '44444444-4444-4444-8444-444444444444', format: 'pdf' },
      maxBytes: 1024 * 1024,
    }),
    (err: unknown) => err instanceof PermanentError && err.code === 'too_large',
  );
  assert.equal(await store.stat(k), null);
  assert.equal(fake.openSessions(), 0, 'the resumable session was cancelled');
  assert.ok(destroyed, 'the source stream was destroyed');
  // Under the threshold the limit trips before any request is made.
  const n = fake.requests.length;
  await assert.rejects(
    store.put(k, Buffer.alloc(2000), { contentType: 'text/plain', metadata: {}, maxBytes: 1000 }),
    /exceeds 1000 bytes/,
  );
  assert.equal(fake.requests.length, n);
});

test('damaged bytes on upload are caught by checksums (server md5 for small, client crc32c for large)', async () => {
  const small = key('55555555-5555-4555-8555-555555555555', 'readable.json');
  fake.corruptNextUpload();
  await assert.rejects(
    store.put(small, Buffer.from('{"a":1}'), { contentType: 'application/json', metadata: {} }),
    (err: unknown) => err instanceof TransientError && err.code === 'checksum_mismatch',
  );
  assert.equal(await store.stat(small), null);

  const large = key('55555555-5555-4555-8555-555555555555', 'page.pdf');
  fake.corruptNextUpload();
  await assert.rejects(
    store.put(large, streamOf(bytes(600 * 1024)), { contentType: 'application/pdf', metadata: {} }),
    (err: unknown) => err instanceof TransientError && err.code === 'checksum_mismatch',
  );
  assert.equal(await store.stat(large), null, 'the client deleted the damaged object');
});

test('damaged bytes on download fail the read stream', async () => {
  const k = key('66666666-6666-4666-8666-666666666666', 'singlefile.html');
  await store.put(k, Buffer.from('<html>fine</html>'), { contentType: 'text/html', metadata: {} });
  fake.corruptNextDownload();
  await assert.rejects(readAll(await store.get(k)), /did not match the data from the server/);
  assert.equal((await readAll(await store.get(k))).toString(), '<html>fine</html>');
});

test('get of a missing object throws NotFoundError; stat answers null', async () => {
  await assert.rejects(store.get('articles/none/page.pdf'), NotFoundError);
  assert.equal(await store.stat('articles/none/page.pdf'), null);
});

test('v4 signed URLs are computed locally, verify against the key and expire', async () => {
  const k = key('77777777-7777-4777-8777-777777777777', 'page.pdf');
  const body = bytes(10_000, 3);
  await store.put(k, body, { contentType: 'application/pdf', metadata: {} });
  const n = fake.requests.length;
  const url = new URL(await store.signedUrl!(k, { expiresInSeconds: 300, downloadName: 'Ünïcode "title".pdf' }));
  assert.equal(fake.requests.length, n, 'signing made no request');
  assert.equal(url.pathname, `/${BUCKET}/${k}`);
  assert.equal(url.searchParams.get('X-Goog-Algorithm'), 'GOOG4-RSA-SHA256');
  assert.match(
    url.searchParams.get('X-Goog-Credential')!,
    new RegExp(`^${clientEmail}/\\d{8}/auto/storage/goog4_request$`),
  );
  assert.equal(url.searchParams.get('X-Goog-Expires'), '300');
  assert.match(url.searchParams.get('X-Goog-Signature')!, /^[0-9a-f]{512}$/);

  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
  assert.match(
    res.headers.get('content-disposition')!,
    /^attachment; filename="_n_code _title_.pdf"; filename\*=UTF-8''%C3%9Cn%C3%AFcode%20%22title%22.pdf$/,
  );

  const forged = new URL(url);
  forged.searchParams.set('X-Goog-Expires', '600000');
  assert.equal((await fetch(forged)).status, 403);
});

test('deletePrefix removes every object under the prefix and nothing else', async () => {
  const a = '88888888-8888-4888-8888-888888888888';
  const b = '88888888-8888-4888-8888-888888888889';
  for (const f of ['singlefile.html', 'page.pdf', 'readable.json'])
    await store.put(key(a, f), Buffer.from(f), { contentType: 'text/plain', metadata: {} });
  await store.put(key(b, 'page.pdf'), Buffer.from('b'), { contentType: 'text/plain', metadata: {} });
  assert.equal(await store.deletePrefix(`articles/${a}/`), 3);
  assert.deepEqual(
    fake
      .list(BUCKET)
      .filter((o) => o.name.includes('8888-88888888888'))
      .map((o) => o.name),
    [key(b, 'page.pdf')],
  );
  assert.equal(await store.deletePrefix(`articles/${a}/`), 0);
  await assert.rejects(store.deletePrefix(''), /non-empty prefix/);
});

test('an aborted upload rejects with the signal reason, cancels its session and leaves no object', async () => {
  const k = key('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'page.pdf');
  const slow = Readable.from(
    (async function* () {
      for (let i = 0; i < 100; i++) {
        yield bytes(64 * 1024, i);
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
  );
  const ac = new AbortController();
  setTimeout(() => ac.abort(new Error('worker shutting down')), 300);
  await assert.rejects(
    store.put(k, slow, { contentType: 'application/pdf', metadata: {}, signal: ac.signal }),
    /worker shutting down|aborted/i,
  );
  assert.equal(await store.stat(k), null);
  assert.equal(fake.openSessions(), 0);
});

test('an empty body is stored as an empty object', async () => {
  const k = key('99999999-9999-4999-8999-999999999999', 'readable.json');
  const stored = await store.put(k, Readable.from([]), { contentType: 'application/json', metadata: {} });
  assert.equal(stored.size, 0);
  assert.equal(stored.sha256, sha256(Buffer.alloc(0)));
  assert.equal((await store.stat(k))?.size, 0);
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

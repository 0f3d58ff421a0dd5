// The S3 blob store (shared/adapters/s3.ts) through the real @aws-sdk/client-s3 and lib-storage, against the S3
// fake (SigV4-verifying): round trip, sha256, metadata, missing keys, >1000-key prefix deletes, a 20 MB streamed
// multipart put, limits, and the start-up check refusing a wrong secret, key, bucket or endpoint.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer as readAll } from 'node:stream/consumers';
import { DeleteObjectsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startS3Fake, type S3Fake } from '../fakes/s3-server.ts';
import { createS3BlobStore, decodeMetadata, encodeMetadata } from '../../shared/adapters/s3.ts';
import {
  checkS3Store,
  s3ClientFor,
  StorageUnavailableError,
  type S3Settings,
} from '../../shared/adapters/s3-config.ts';
import { blobStoreFor, buildCloudDeps } from '../../shared/adapters/deps.ts';
import { NotFoundError, type BlobStore } from '../../shared/core/ports.ts';
import { PermanentError } from '../../shared/core/errors.ts';
import { BaseConfig, ConfigError, loadConfig } from '../../shared/core/config.ts';
import { silentLogger } from '../../shared/core/logger.ts';

const BUCKET = 'htbase-artifacts';
const CREDS = { accessKeyId: 'HTBASETESTKEY', secretAccessKey: 'test-secret-0123456789' };
let fake: S3Fake;
let settings: S3Settings & { S3_BUCKET: string };
let store: BlobStore;

function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}
/** A stream of unknown length (no content-length anywhere), in 64 KiB pieces. */
function streamOf(buf: Buffer, piece = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < buf.length; i += piece) yield buf.subarray(i, i + piece);
    })(),
  );
}
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ID = '11111111-1111-4111-8111-111111111111';

before(async () => {
  fake = await startS3Fake({ ...CREDS, buckets: [BUCKET] });
  settings = {
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: fake.endpoint,
    S3_REGION: 'us-east-1',
    S3_ACCESS_KEY_ID: CREDS.accessKeyId,
    S3_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
    S3_FORCE_PATH_STYLE: true,
  };
  store = createS3BlobStore({ client: s3ClientFor(settings), bucket: BUCKET });
});
after(async () => {
  await fake.close();
});

test('a small stream round-trips in one PutObject whose metadata carries articleId, format and sha256', async () => {
  const body = Buffer.from(JSON.stringify({ title: 'Hello', text: 'wörld' }));
  const k = `articles/${ID}/readable.json`;
  const from = fake.requests.length;
  const stored = await store.put(k, streamOf(body, 7), {
    contentType: 'application/json',
    metadata: { articleId: ID, format: 'readable' },
  });
  assert.deepEqual(stored, { key: k, size: body.length, sha256: sha256(body), contentType: 'application/json' });
  assert.deepEqual(
    fake.requests.slice(from).map((r) => [r.op, r.status]),
    [['PutObject', 200]],
  );
  // On the wire, as S3 keeps it: lower-case names, so the store encodes the camelCase ones reversibly.
  assert.deepEqual(fake.objects.get(k)?.metadata, { 'article-id': ID, format: 'readable', sha256: sha256(body) });
  assert.deepEqual(await store.stat(k), {
    key: k,
    size: body.length,
    contentType: 'application/json',
    metadata: { articleId: ID, format: 'readable', sha256: sha256(body) },
  });
  assert.deepEqual(await readAll(await store.get(k)), body);
});

test('Buffer and string bodies are stored as given; an empty body is an empty object', async () => {
  const a = await store.put('articles/x/a.txt', 'plain text', { contentType: 'text/plain', metadata: {} });
  assert.equal(a.sha256, sha256(Buffer.from('plain text')));
  assert.equal((await readAll(await store.get('articles/x/a.txt'))).toString(), 'plain text');
  const e = await store.put('articles/x/empty', streamOf(Buffer.alloc(0)), {
    contentType: 'application/octet-stream',
    metadata: {},
  });
  assert.deepEqual([e.size, e.sha256], [0, sha256(Buffer.alloc(0))]);
  assert.equal((await store.stat('articles/x/empty'))?.size, 0);
});

test('metadata names and values of any case and text round-trip', () => {
  const md = { articleId: 'a', 'x-Y': 'b', snake_case: 'c', title: 'Ünïcode 100% — "quoted"', multiWordName: '' };
  const enc = encodeMetadata(md);
  for (const [k, v] of Object.entries(enc)) {
    assert.equal(k, k.toLowerCase());
    assert.match(v, /^[\x20-\x7e]*$/);
  }
  assert.deepEqual(decodeMetadata(enc), md);
});

test('a 20 MB stream of unknown length goes multipart, hashes on the way, and appears only once complete', async () => {
  const body = bytes(20 * 1024 * 1024, 7);
  const k = `articles/${ID}/page.pdf`;
  const from = fake.requests.length;
  let seenBeforeDone = false;
  const source = streamOf(body);
  source.on('end', () => (seenBeforeDone = fake.objects.has(k)));
  const stored = await store.put(k, source, {
    contentType: 'application/pdf',
    metadata: { articleId: ID, format: 'pdf' },
  });
  assert.equal(seenBeforeDone, false, 'the object must not be visible before CompleteMultipartUpload');
  assert.deepEqual(stored, { key: k, size: body.length, sha256: sha256(body), contentType: 'application/pdf' });
  const ops = fake.requests.slice(from).map((r) => r.op);
  assert.equal(ops[0], 'CreateMultipartUpload');
  assert.ok(ops.filter((o) => o === 'UploadPart').length >= 3, `parts: ${ops.join(',')}`);
  assert.ok(ops.indexOf('CompleteMultipartUpload') > ops.lastIndexOf('UploadPart'));
  assert.equal(ops.at(-1), 'CopyObject');
  assert.ok(
    fake.requests.slice(from).every((r) => r.status === 200),
    'every call succeeded',
  );
  assert.deepEqual((await store.stat(k))?.metadata, { articleId: ID, format: 'pdf', sha256: sha256(body) });
  assert.equal(sha256(await readAll(await store.get(k))), sha256(body));
  assert.equal(fake.openUploads(), 0);
});

test('too_large: a stream over maxBytes fails permanently, the multipart upload is aborted, no object appears', async () => {
  const k = `articles/${ID}/screenshot.png`;
  const from = fake.requests.length;
  await assert.rejects(
    store.put(k, streamOf(bytes(12 * 1024 * 1024)), {
      contentType: 'image/png',
      metadata: {},
      maxBytes: 10 * 1024 * 1024,
    }),
    (err: unknown) => err instanceof PermanentError && err.code === 'too_large',
  );
  await assert.rejects(
    store.put(k, Buffer.alloc(2048), { contentType: 'image/png', metadata: {}, maxBytes: 1024 }),
    PermanentError,
  );
  assert.equal(fake.objects.has(k), false);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(fake.openUploads(), 0, 'no multipart upload left open');
  assert.ok(fake.requests.slice(from).some((r) => r.op === 'AbortMultipartUpload' && r.status === 204));
});

test('an aborted put rejects with the signal reason and leaves no object', async () => {
  const k = `articles/${ID}/aborted.bin`;
  const ac = new AbortController();
  // A stream that pauses after 9 MiB (past the one-shot size, so the multipart upload has begun), then is cancelled.
  const source = new Readable({ read() {} });
  source.push(bytes(9 * 1024 * 1024));
  setTimeout(() => ac.abort(new Error('cancelled by test')), 300);
  await assert.rejects(
    store.put(k, source, { contentType: 'application/octet-stream', metadata: {}, signal: ac.signal }),
    /cancelled by test/,
  );
  assert.equal(fake.objects.has(k), false);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(fake.openUploads(), 0, 'the multipart upload was aborted');
});

test('a get is timed to its answer, not its body: a reader slower than the timeout still gets every byte', async () => {
  const body = Buffer.alloc(24 * 1024 * 1024, 7);
  const k = `articles/${ID}/slow-reader.pdf`;
  await store.put(k, body, { contentType: 'application/pdf', metadata: {} });
  const quick = createS3BlobStore({ client: s3ClientFor(settings), bucket: BUCKET, timeoutMs: 400 });
  const hash = createHash('sha256');
  let size = 0;
  let paused = false;
  for await (const chunk of await quick.get(k)) {
    if (!paused) {
      paused = true;
      await new Promise((r) => setTimeout(r, 900)); // a slow client: past the 400 ms deadline mid-body
    }
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  assert.equal(size, body.length);
  assert.equal(hash.digest('hex'), sha256(body));
});

test('get of a missing key throws NotFoundError (NoSuchKey); stat answers null', async () => {
  await assert.rejects(store.get('articles/nope/readable.json'), NotFoundError);
  assert.equal(await store.stat('articles/nope/readable.json'), null);
  assert.ok(fake.requests.some((r) => r.op === 'GetObject' && r.status === 404));
});

test('deletePrefix pages ListObjectsV2 and deletes 1000-key batches: 2100 objects under the prefix, none beside', async () => {
  const client = s3ClientFor(settings);
  const prefix = 'articles/22222222-2222-4222-8222-222222222222/';
  for (let i = 0; i < 2100; i += 50)
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        client.send(
          new PutObjectCommand({ Bucket: BUCKET, Key: `${prefix}f${String(i + j).padStart(4, '0')}`, Body: 'x' }),
        ),
      ),
    );
  await store.put('articles/22222222-2222-4222-8222-2222222222220/keep', 'keep', {
    contentType: 'text/plain',
    metadata: {},
  });
  const from = fake.requests.length;
  assert.equal(await store.deletePrefix(prefix), 2100);
  const ops = fake.requests.slice(from).map((r) => r.op);
  assert.deepEqual(ops, [
    'ListObjectsV2',
    'DeleteObjects',
    'ListObjectsV2',
    'DeleteObjects',
    'ListObjectsV2',
    'DeleteObjects',
  ]);
  assert.equal([...fake.objects.keys()].filter((k) => k.startsWith(prefix)).length, 0);
  assert.ok(await store.stat('articles/22222222-2222-4222-8222-2222222222220/keep'));
  assert.equal(await store.deletePrefix(prefix), 0);
  await assert.rejects(store.deletePrefix(''), /non-empty prefix/);
});

test('DeleteObjects carries Content-MD5, so stores that refuse the newer checksum headers delete too', async () => {
  const strict = await startS3Fake({ ...CREDS, buckets: [BUCKET], deleteNeedsContentMd5: true });
  try {
    const cfg = { ...settings, S3_ENDPOINT: strict.endpoint };
    const s = createS3BlobStore({ client: s3ClientFor(cfg), bucket: BUCKET });
    for (let i = 0; i < 3; i++)
      await s.put(`articles/strict/${i}`, `o${i}`, { contentType: 'text/plain', metadata: {} });
    assert.equal(await s.deletePrefix('articles/strict/'), 3);
    assert.equal(strict.objects.size, 0);
    // The SDK's defaults alone (x-amz-checksum-crc32, no Content-MD5) are what such a store refuses.
    strict.objects.set('articles/strict/x', { ...fake.objects.get('articles/x/a.txt')! });
    await assert.rejects(
      new S3Client({ region: 'us-east-1', endpoint: strict.endpoint, forcePathStyle: true, credentials: CREDS }).send(
        new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'articles/strict/x' }] } }),
      ),
      { name: 'MissingContentMD5' },
    );
    assert.ok(strict.objects.has('articles/strict/x'));
  } finally {
    await strict.close();
  }
});

test('the fake checks SigV4: a wrong secret is refused (SignatureDoesNotMatch), nothing is written', async () => {
  const bad = createS3BlobStore({
    client: s3ClientFor({ ...settings, S3_SECRET_ACCESS_KEY: 'wrong-secret' }),
    bucket: BUCKET,
  });
  await assert.rejects(bad.put('articles/bad/x', 'x', { contentType: 'text/plain', metadata: {} }), {
    name: 'SignatureDoesNotMatch',
  });
  await assert.rejects(
    bad.put('articles/bad/y', streamOf(bytes(9 * 1024 * 1024)), { contentType: 'text/plain', metadata: {} }),
    {
      name: 'SignatureDoesNotMatch',
    },
  );
  assert.equal(fake.objects.has('articles/bad/x'), false);
  assert.equal(fake.objects.has('articles/bad/y'), false);
});

/** The SDK client with AWS's defaults (flexible checksums on), as s3ClientFor makes it for AWS itself. */
const defaultClient = () =>
  new S3Client({
    region: 'us-east-1',
    endpoint: fake.endpoint,
    forcePathStyle: true,
    credentials: CREDS,
  });

test('the fake decodes what the SDK streams: aws-chunked with a trailing CRC32 checksum', async () => {
  const client = defaultClient();
  const from = fake.requests.length;
  const parts = [Buffer.from('hello '), Buffer.from('chunked '), Buffer.from('world')];
  await client.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'articles/x/chunked', Body: Readable.from(parts), ContentLength: 19 }),
  );
  const [req] = fake.requests.slice(from);
  assert.deepEqual([req?.op, req?.status, req?.payload], ['PutObject', 200, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER']);
  assert.equal(fake.objects.get('articles/x/chunked')?.body.toString(), 'hello chunked world');
});

test('the start-up check names the wrong setting and never shows the secret', async () => {
  await checkS3Store(settings);
  const cases: Array<[Partial<S3Settings>, RegExp]> = [
    [{ S3_SECRET_ACCESS_KEY: 'wrong-secret-value' }, /S3_SECRET_ACCESS_KEY is wrong/],
    [{ S3_ACCESS_KEY_ID: 'NOSUCHKEY' }, /does not know the access key S3_ACCESS_KEY_ID/],
    [{ S3_BUCKET: 'no-such-bucket' }, /bucket no-such-bucket does not exist/],
    [{ S3_ENDPOINT: 'http://127.0.0.1:9' }, /cannot reach http:\/\/127\.0\.0\.1:9/],
  ];
  for (const [patch, expected] of cases) {
    const err = await checkS3Store({ ...settings, ...patch } as typeof settings).then(
      () => assert.fail('the check passed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StorageUnavailableError, String(err));
    assert.match(err.message, expected);
    assert.doesNotMatch(err.message, /wrong-secret-value|test-secret/);
  }
});

test('configuration: S3_BUCKET selects the S3 store; with ARTIFACTS_BUCKET, or half the credentials, it is refused', async () => {
  const env = {
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: fake.endpoint,
    S3_ACCESS_KEY_ID: CREDS.accessKeyId,
    S3_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  };
  const config = loadConfig(BaseConfig, env);
  assert.equal(config.S3_REGION, 'us-east-1');
  const blobs = blobStoreFor(config, silentLogger());
  await blobs.put('articles/cfg/x.txt', 'via config', { contentType: 'text/plain', metadata: {} });
  assert.equal(fake.objects.get('articles/cfg/x.txt')?.body.toString(), 'via config');

  assert.throws(
    () => loadConfig(BaseConfig, { ...env, ARTIFACTS_BUCKET: 'gcs-bucket' }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /ARTIFACTS_BUCKET, S3_BUCKET: set one artifact store/);
      return true;
    },
  );
  assert.throws(() => loadConfig(BaseConfig, { ...env, S3_SECRET_ACCESS_KEY: '' }), /go together/);
  assert.throws(
    () => loadConfig(BaseConfig, { ...env, S3_ENDPOINT: 'ftp://x' }),
    /S3_ENDPOINT must be an http\(s\) URL/,
  );
  assert.throws(() => loadConfig(BaseConfig, { S3_ENDPOINT: fake.endpoint }), /no S3_BUCKET/);
});

test('the VPS processes (buildCloudDeps) refuse to start on a wrong S3 secret, before opening anything', async () => {
  const config = loadConfig(BaseConfig, {
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: fake.endpoint,
    S3_ACCESS_KEY_ID: CREDS.accessKeyId,
    S3_SECRET_ACCESS_KEY: 'a-wrong-secret',
    S3_FORCE_PATH_STYLE: 'true',
    QUEUE: 'postgres',
    DATABASE_URL: 'postgres://nobody@127.0.0.1:9/none',
  });
  await assert.rejects(buildCloudDeps(config, silentLogger()), (e: unknown) => {
    assert.ok(e instanceof StorageUnavailableError, String(e));
    assert.match(e.message, /S3_SECRET_ACCESS_KEY is wrong/);
    assert.doesNotMatch(e.message, /a-wrong-secret/);
    return true;
  });
});

// BlobStore on any S3-compatible service (@aws-sdk/client-s3 + lib-storage): small bodies in one PutObject whose
// metadata already carries sha256, larger or unknown-length streams through a multipart Upload (the object appears
// only when it completes), prefix deletes in 1000-key batches. No signed URLs: the API streams the bytes itself.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { NotFoundError, type BlobStore, type ObjectInfo, type PutOptions, type StoredObject } from '../core/ports.ts';
import { PermanentError } from '../core/errors.ts';
import { bufferHead, byteMeter } from './blob-stream.ts';
import { silentLogger, type Logger } from '../core/logger.ts';

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Multipart part size, and the size up to which a body is buffered into one PutObject. Default 8 MiB (min 5). */
  partSize?: number;
  /** Parts in flight at once per upload. Default 4. */
  queueSize?: number;
  /** Upper bound for one put/get/stat call, in ms. Default 120 s. */
  timeoutMs?: number;
  logger?: Logger;
}

const MiB = 1024 * 1024;
const MAX_COPY_BYTES = 5 * 1024 * MiB;

/**
 * S3 lower-cases metadata names (they travel as x-amz-meta-* headers) and allows only ASCII values. The store's
 * callers use camelCase names (articleId) and may put any text in values, so both are encoded reversibly:
 * an upper-case letter becomes `-` + its lower case (`-` itself `--`; not `_`, which proxies such as nginx drop
 * from header names); values are percent-encoded when needed.
 */
export function encodeMetadata(md: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(md).map(([k, v]) => [
      k.replace(/-/g, '--').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      /^[\x20-\x7e]*$/.test(v) && !v.includes('%') ? v : encodeURIComponent(v),
    ]),
  );
}
export function decodeMetadata(md: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(md ?? {}).map(([k, v]) => {
      let value = v;
      try {
        value = decodeURIComponent(v);
      } catch {
        // Not written by this store (a stray `%`): keep it as S3 gave it.
      }
      return [k.replace(/-(-|[a-z])/g, (_, c: string) => (c === '-' ? '-' : c.toUpperCase())), value];
    }),
  );
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

export function createS3BlobStore(opts: S3BlobStoreOptions): BlobStore {
  const { client, bucket } = opts;
  const partSize = Math.max(opts.partSize ?? 8 * MiB, 5 * MiB);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const log = (opts.logger ?? silentLogger()).child({ component: 's3-blob-store' });
  const bound = (signal?: AbortSignal) =>
    signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);

  async function putSmall(key: string, buf: Buffer, putOpts: PutOptions, signal: AbortSignal): Promise<StoredObject> {
    const sha256 = createHash('sha256').update(buf).digest('hex');
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: buf,
        ContentLength: buf.length,
        ContentType: putOpts.contentType,
        // Content-MD5: the service refuses bytes damaged on the way.
        ContentMD5: createHash('md5').update(buf).digest('base64'),
        Metadata: encodeMetadata({ ...putOpts.metadata, sha256 }),
      }),
      { abortSignal: signal },
    );
    return { key, size: buf.length, sha256, contentType: putOpts.contentType };
  }

  return {
    async put(key: string, body: Readable | Buffer | string, putOpts: PutOptions): Promise<StoredObject> {
      const signal = bound(putOpts.signal);
      const max = putOpts.maxBytes ?? Number.POSITIVE_INFINITY;
      const tooLarge = () => new PermanentError('too_large', `object ${key} exceeds ${max} bytes`);
      if (Buffer.isBuffer(body) || typeof body === 'string') {
        const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
        if (buf.length > max) throw tooLarge();
        return putSmall(key, buf, putOpts, signal);
      }

      // Most artifacts end within one part and go out in one request.
      const head = await bufferHead(body, partSize, max, signal, tooLarge);
      if (head.ended) return putSmall(key, head.body, putOpts, signal);

      // Large or unknown length: a multipart upload, hashing on the way; S3 shows the object only once complete.
      const meter = byteMeter(max, tooLarge);
      const { source } = head;
      source.on('error', (err) => meter.stream.destroy(err));
      if (signal.aborted) {
        body.destroy();
        throw signal.reason;
      }
      const abort = new AbortController();
      const onAbort = () => abort.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const upload = new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: key,
          Body: source.pipe(meter.stream),
          ContentType: putOpts.contentType,
          Metadata: encodeMetadata({ ...putOpts.metadata }),
        },
        partSize,
        queueSize: opts.queueSize ?? 4,
        // A failed upload is aborted (its parts deleted), so nothing half-written is left to pay for.
        leavePartsOnError: false,
        abortController: abort,
      });
      // A limit error ends the metered stream; abort the upload so lib-storage stops and aborts the multipart.
      meter.stream.once('error', (err) => abort.abort(err));
      try {
        await upload.done();
      } catch (err) {
        body.destroy();
        const limitError = meter.limitError();
        if (limitError) throw limitError;
        if (signal.aborted) throw signal.reason;
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      const { size, sha256 } = meter.result();
      if (size > MAX_COPY_BYTES) {
        // CopyObject stops at 5 GiB: the row and the finalize event carry sha256, the object's metadata does not.
        log.warn({ key, size }, 'object too large to copy: sha256 left out of its metadata');
        return { key, size, sha256, contentType: putOpts.contentType };
      }
      // sha256 is known only now; S3 metadata cannot be patched, so the object is copied onto itself with it.
      await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: key,
          CopySource: `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
          MetadataDirective: 'REPLACE',
          ContentType: putOpts.contentType,
          Metadata: encodeMetadata({ ...putOpts.metadata, sha256 }),
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      log.debug({ key, size }, 'multipart upload complete');
      return { key, size, sha256, contentType: putOpts.contentType };
    },

    async get(key: string): Promise<Readable> {
      // The deadline covers the answer's headers only: the body streams at the reader's pace (a 200 MB PDF to a
      // slow client takes minutes), and an abort after the headers would cut it off mid-file.
      const headers = new AbortController();
      const timer = setTimeout(
        () => headers.abort(new Error(`S3 GET ${key}: no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      try {
        // One GET is one version of the object: a concurrent overwrite cannot mix two objects' bytes.
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), {
          abortSignal: headers.signal,
        });
        return out.Body as Readable;
      } catch (err) {
        if (isNotFound(err)) throw new NotFoundError(`no object ${key}`);
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },

    async stat(key: string): Promise<ObjectInfo | null> {
      try {
        const md = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }), {
          abortSignal: AbortSignal.timeout(timeoutMs),
        });
        return {
          key,
          size: Number(md.ContentLength ?? 0),
          contentType: md.ContentType ?? 'application/octet-stream',
          metadata: decodeMetadata(md.Metadata),
        };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    async deletePrefix(prefix: string): Promise<number> {
      // An empty prefix would empty the bucket: never what a caller of this port means.
      if (!prefix) throw new Error('deletePrefix needs a non-empty prefix');
      let deleted = 0;
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1000, ContinuationToken: token }),
          { abortSignal: AbortSignal.timeout(timeoutMs) },
        );
        const keys = (page.Contents ?? []).map((o) => o.Key!).filter(Boolean);
        if (keys.length) {
          // DeleteObjects takes at most 1000 keys, exactly one listed page.
          const out = await client.send(
            new DeleteObjectsCommand({
              Bucket: bucket,
              Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
            }),
            { abortSignal: AbortSignal.timeout(timeoutMs) },
          );
          if (out.Errors?.length) {
            const first = out.Errors[0]!;
            throw new Error(`S3 refused to delete ${out.Errors.length} object(s), e.g. ${first.Key}: ${first.Code}`);
          }
          deleted += keys.length;
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return deleted;
    },
  };
}

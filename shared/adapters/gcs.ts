// BlobStore on Cloud Storage (@google-cloud/storage): streamed, checksum-validated uploads with
// articleId/format/sha256 object metadata, size limits, prefix deletes and v4 signed download URLs.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Storage, type File } from '@google-cloud/storage';
import { NotFoundError, type BlobStore, type ObjectInfo, type PutOptions, type StoredObject } from '../core/ports.ts';
import { PermanentError, TransientError } from '../core/errors.ts';
import { bufferHead, byteMeter } from './blob-stream.ts';
import { silentLogger, type Logger } from '../core/logger.ts';

export interface GcsBlobStoreOptions {
  storage: Storage;
  bucket: string;
  /**
   * A service-account key to sign URLs locally. Without it, signing goes through the client's
   * credentials (IAM signBlob on Cloud Run, which needs roles/iam.serviceAccountTokenCreator on itself).
   */
  signer?: { clientEmail: string; privateKey: string };
  /**
   * Bodies up to this size are buffered, hashed and sent in one multipart request whose metadata already
   * carries sha256 (so the finalize event has it). Larger bodies stream through a resumable upload and
   * get sha256 by a metadata patch once complete. Default 8 MiB.
   */
  resumableThreshold?: number;
  /** Chunk size of resumable uploads (a multiple of 256 KiB); unset streams the rest in one request. */
  chunkSize?: number;
  /** Upper bound for one put/get/stat/delete call, in ms. Default 120 s. */
  timeoutMs?: number;
  logger?: Logger;
}

const DEFAULT_THRESHOLD = 8 * 1024 * 1024;

function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 404;
}

function toBuffer(body: Buffer | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/** `attachment; filename="..."; filename*=UTF-8''...` with the quoted form restricted to safe ASCII. */
function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function createGcsBlobStore(opts: GcsBlobStoreOptions): BlobStore {
  const bucket = opts.storage.bucket(opts.bucket);
  const threshold = opts.resumableThreshold ?? DEFAULT_THRESHOLD;
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const log = (opts.logger ?? silentLogger()).child({ component: 'gcs-blob-store' });
  // A second client whose only job is local signing with the given key; it never sends a request.
  const signingBucket = opts.signer
    ? new Storage({
        projectId: opts.storage.projectId,
        apiEndpoint: opts.storage.apiEndpoint,
        credentials: { client_email: opts.signer.clientEmail, private_key: opts.signer.privateKey },
      }).bucket(opts.bucket)
    : bucket;

  const bound = (signal?: AbortSignal) =>
    signal ? AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);

  async function cancelSession(uri: string | undefined): Promise<void> {
    if (!uri) return;
    // The session URI is its own credential: a DELETE cancels it and the object never appears.
    try {
      const res = await fetch(uri, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
    } catch (err) {
      log.warn({ err }, 'resumable upload cancel failed');
    }
  }

  async function upload(
    file: File,
    source: Readable,
    meter: Transform | null,
    resumable: boolean,
    meta: { contentType: string; metadata: Record<string, string>; md5Hash?: string },
    signal: AbortSignal,
  ): Promise<void> {
    let sessionUri: string | undefined;
    const ws = file.createWriteStream({
      resumable,
      chunkSize: resumable ? opts.chunkSize : undefined,
      // crc32c is checked by the client against what the server reports; md5 (when given) by the server.
      validation: 'crc32c',
      metadata: {
        contentType: meta.contentType,
        metadata: meta.metadata,
        ...(meta.md5Hash ? { md5Hash: meta.md5Hash } : {}),
      },
    });
    ws.on('uri', (uri: string) => (sessionUri = uri));
    try {
      await (meter ? pipeline(source, meter, ws, { signal }) : pipeline(source, ws, { signal }));
    } catch (err) {
      if (resumable) await cancelSession(sessionUri);
      throw err;
    }
  }

  return {
    async put(key: string, body: Readable | Buffer | string, putOpts: PutOptions): Promise<StoredObject> {
      const signal = bound(putOpts.signal);
      const max = putOpts.maxBytes ?? Number.POSITIVE_INFINITY;
      const file = bucket.file(key);
      const tooLarge = () => new PermanentError('too_large', `object ${key} exceeds ${max} bytes`);
      const baseMeta = { ...putOpts.metadata };

      if (Buffer.isBuffer(body) || typeof body === 'string') {
        const buf = toBuffer(body);
        if (buf.length > max) throw tooLarge();
        return putSmall(file, key, buf, putOpts.contentType, baseMeta, signal);
      }

      // Most artifacts end within the threshold and go out in one request.
      const head = await bufferHead(body, threshold, max, signal, tooLarge);
      if (head.ended) return putSmall(file, key, head.body, putOpts.contentType, baseMeta, signal);

      // Large: stream the buffered head and the rest through a resumable upload, hashing on the way.
      const meter = byteMeter(max, tooLarge);
      const { source } = head;
      source.once('close', () => body.destroy());
      try {
        await upload(
          file,
          source,
          meter.stream,
          true,
          { contentType: putOpts.contentType, metadata: baseMeta },
          signal,
        );
      } catch (err) {
        body.destroy();
        const limitError = meter.limitError();
        if (limitError) throw limitError;
        throw mapUploadError(err, key);
      }
      const { size, sha256 } = meter.result();
      // sha256 is only known now; the metadata patch is a separate (metadata-update) event.
      await file.setMetadata({ metadata: { sha256 } }, { timeout: 30_000 });
      log.debug({ key, size }, 'resumable upload complete');
      return { key, size, sha256, contentType: putOpts.contentType };
    },

    async get(key: string): Promise<Readable> {
      const file = bucket.file(key);
      let generation: string | number | undefined;
      try {
        const [md] = await file.getMetadata({ timeout: timeoutMs });
        generation = md.generation ?? undefined;
      } catch (err) {
        if (isNotFound(err)) throw new NotFoundError(`no object ${key}`);
        throw err;
      }
      // Pin the generation we just saw, so a concurrent overwrite cannot mix two objects' bytes.
      return bucket
        .file(key, { generation: generation === undefined ? undefined : Number(generation) })
        .createReadStream({ validation: 'crc32c' });
    },

    async stat(key: string): Promise<ObjectInfo | null> {
      try {
        const [md] = await bucket.file(key).getMetadata({ timeout: timeoutMs });
        return {
          key,
          size: Number(md.size ?? 0),
          contentType: md.contentType ?? 'application/octet-stream',
          metadata: Object.fromEntries(Object.entries(md.metadata ?? {}).map(([k, v]) => [k, String(v)])),
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
      let pageToken: string | undefined;
      do {
        const [files, next] = await bucket.getFiles({ prefix, autoPaginate: false, maxResults: 500, pageToken });
        for (let i = 0; i < files.length; i += 8) {
          const results = await Promise.all(
            files.slice(i, i + 8).map((f) =>
              f.delete({ ignoreNotFound: true }).then(
                () => true,
                (err: unknown) => {
                  if (isNotFound(err)) return false;
                  throw err;
                },
              ),
            ),
          );
          deleted += results.filter(Boolean).length;
        }
        pageToken = (next as { pageToken?: string } | null)?.pageToken;
      } while (pageToken);
      return deleted;
    },

    async signedUrl(key: string, o: { expiresInSeconds: number; downloadName?: string }): Promise<string> {
      // One clock reading for both ends: the library takes its own for the start otherwise, and a second boundary
      // crossed between the two made a 300 s link say 299.
      const now = Date.now();
      const [url] = await signingBucket.file(key).getSignedUrl({
        version: 'v4',
        action: 'read',
        accessibleAt: now,
        expires: now + o.expiresInSeconds * 1000,
        ...(o.downloadName ? { responseDisposition: contentDisposition(o.downloadName) } : {}),
      });
      return url;
    },
  };

  async function putSmall(
    file: File,
    key: string,
    buf: Buffer,
    contentType: string,
    metadata: Record<string, string>,
    signal: AbortSignal,
  ): Promise<StoredObject> {
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const md5Hash = createHash('md5').update(buf).digest('base64');
    try {
      await upload(
        file,
        Readable.from([buf]),
        null,
        false,
        { contentType, metadata: { ...metadata, sha256 }, md5Hash },
        signal,
      );
    } catch (err) {
      throw mapUploadError(err, key);
    }
    return { key, size: buf.length, sha256, contentType };
  }
}

/** A checksum mismatch means bytes were damaged on the way: worth another try, not a permanent failure. */
function mapUploadError(err: unknown, key: string): unknown {
  const code = (err as { code?: unknown })?.code;
  if (code === 'FILE_NO_UPLOAD' || code === 'FILE_NO_UPLOAD_DELETE' || code === 400) {
    const msg = err instanceof Error ? err.message : String(err);
    if (code !== 400 || /CRC32C|MD5/i.test(msg))
      return new TransientError('checksum_mismatch', `upload of ${key} failed its integrity check: ${msg}`, {
        cause: err,
      });
  }
  return err;
}

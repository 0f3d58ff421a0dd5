// What every BlobStore does with a body on its way in, written once: meter it (count, sha256, the size limit),
// buffer its head so a small artifact goes out in one request, and tell others an object was finalized.
import { createHash, randomUUID } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { BlobStore, ObjectFinalized, StoredObject } from '../core/ports.ts';

/** A Transform that counts bytes, hashes them and fails with `tooLarge()` once more than `maxBytes` pass. */
export function byteMeter(maxBytes: number | undefined, tooLarge: () => Error) {
  const hash = createHash('sha256');
  let size = 0;
  let limitError: Error | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      if (maxBytes !== undefined && size > maxBytes) {
        limitError = tooLarge();
        cb(limitError);
        return;
      }
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  return {
    stream,
    /** The limit's error once the body went over it (a store's upload may report it as its own failure). */
    limitError: () => limitError,
    /** Once the body has passed through: its size and sha256 (hex). */
    result: () => ({ size, sha256: hash.digest('hex') }),
  };
}

const asBuffer = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);

export type BufferedHead =
  /** The body ended within the threshold: all of it. */
  | { ended: true; body: Buffer }
  /** It did not: a stream of the whole body, the buffered head first, then the rest as it comes. */
  | { ended: false; source: Readable };

/**
 * Reads `body` until it ends or more than `threshold` bytes are in memory, so most artifacts go out in one request
 * and only long ones are streamed. Over `maxBytes` (or on an abort) the body is destroyed and the error thrown.
 */
export async function bufferHead(
  body: Readable,
  threshold: number,
  maxBytes: number,
  signal: AbortSignal,
  tooLarge: () => Error,
): Promise<BufferedHead> {
  const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  const head: Buffer[] = [];
  let headBytes = 0;
  try {
    while (headBytes <= threshold) {
      signal.throwIfAborted();
      const next = await iterator.next();
      if (next.done) return { ended: true, body: Buffer.concat(head, headBytes) };
      const chunk = asBuffer(next.value);
      headBytes += chunk.length;
      if (headBytes > maxBytes) throw tooLarge();
      head.push(chunk);
    }
  } catch (err) {
    body.destroy();
    throw err;
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* head;
    head.length = 0;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield asBuffer(next.value);
    }
  }
  return { ended: false, source: Readable.from(rest(), { objectMode: false }) };
}

/** The event Eventarc sends for a finalized object, for the stores and wrappers that send it themselves. */
export function finalizedEvent(
  bucket: string,
  stored: Pick<StoredObject, 'key' | 'size' | 'contentType'>,
  metadata: Record<string, string>,
): ObjectFinalized {
  return {
    eventId: randomUUID(),
    bucket,
    name: stored.key,
    contentType: stored.contentType,
    size: stored.size,
    metadata,
    time: new Date().toISOString(),
  };
}

/**
 * The store, with `afterPut` told of each object once its put completed (and awaited: a wrapper that must not fail
 * the put catches its own errors). Everything else is the store's own.
 */
export function announcingPuts(
  blobs: BlobStore,
  bucket: string,
  afterPut: (ev: ObjectFinalized) => Promise<unknown> | void,
): BlobStore {
  return {
    ...blobs,
    get: (key) => blobs.get(key),
    stat: (key) => blobs.stat(key),
    deletePrefix: (prefix) => blobs.deletePrefix(prefix),
    ...(blobs.signedUrl ? { signedUrl: blobs.signedUrl.bind(blobs) } : {}),
    async put(key, body, opts) {
      const stored = await blobs.put(key, body, opts);
      await afterPut(finalizedEvent(bucket, stored, { ...opts.metadata, sha256: stored.sha256 }));
      return stored;
    },
  };
}

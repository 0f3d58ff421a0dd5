// BlobStore on local disk (embedded mode): the same keys as the bucket, under the data directory.
// Objects appear atomically (temp file + rename) and each completed write fires an object-finalized event.
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PermanentError } from '../core/errors.ts';
import { byteMeter, finalizedEvent } from './blob-stream.ts';
import {
  NotFoundError,
  type BlobStore,
  type ObjectFinalized,
  type ObjectInfo,
  type PutOptions,
  type StoredObject,
} from '../core/ports.ts';

interface Sidecar {
  contentType: string;
  metadata: Record<string, string>;
  size: number;
}

export interface LocalBlobStore extends BlobStore {
  readonly root: string;
  /** Absolute path of an object, for the CLI to show where an artifact is. */
  pathOf(key: string): string;
  onFinalize(listener: (ev: ObjectFinalized) => void): () => void;
}

function toReadable(body: Readable | Buffer | string): Readable {
  return typeof body === 'string' || Buffer.isBuffer(body) ? Readable.from([Buffer.from(body)]) : body;
}

export function createLocalBlobStore(opts: { root: string; bucket?: string }): LocalBlobStore {
  const root = resolve(opts.root);
  const bucket = opts.bucket ?? 'local';
  const listeners = new Set<(ev: ObjectFinalized) => void>();

  function pathOf(key: string): string {
    if (!key || key.includes('\0') || key.split('/').some((p) => p === '..' || p === '.' || p === '')) {
      throw new Error(`invalid object key: ${JSON.stringify(key)}`);
    }
    const p = resolve(root, key);
    if (!p.startsWith(root + sep)) throw new Error('object key escapes the store');
    return p;
  }
  const sidecarOf = (p: string) => `${p}.meta.json`;

  return {
    root,
    pathOf,
    onFinalize(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async put(key: string, body, putOpts: PutOptions): Promise<StoredObject> {
      const target = pathOf(key);
      await mkdir(dirname(target), { recursive: true });
      const tmp = `${target}.${randomUUID()}.tmp`;
      const m = byteMeter(
        putOpts.maxBytes,
        () => new PermanentError('too_large', `the artifact exceeds the limit of ${putOpts.maxBytes} bytes`),
      );
      try {
        await pipeline(toReadable(body), m.stream, createWriteStream(tmp), { signal: putOpts.signal });
        const { size, sha256 } = m.result();
        const metadata = { ...putOpts.metadata, sha256 };
        await writeFile(
          sidecarOf(target),
          JSON.stringify({ contentType: putOpts.contentType, metadata, size } satisfies Sidecar),
        );
        await rename(tmp, target);
        const ev = finalizedEvent(bucket, { key, size, contentType: putOpts.contentType }, metadata);
        // Listeners run after the write is durable, like Eventarc; they must not fail the put.
        for (const l of listeners) queueMicrotask(() => l(ev));
        return { key, size, sha256, contentType: putOpts.contentType };
      } catch (err) {
        await rm(tmp, { force: true });
        throw err;
      }
    },

    async get(key) {
      const p = pathOf(key);
      try {
        await stat(p);
      } catch {
        throw new NotFoundError(`no object ${key}`);
      }
      return createReadStream(p);
    },

    async stat(key): Promise<ObjectInfo | null> {
      const p = pathOf(key);
      try {
        const side = JSON.parse(await readFile(sidecarOf(p), 'utf8')) as Sidecar;
        await stat(p);
        return { key, size: side.size, contentType: side.contentType, metadata: side.metadata };
      } catch {
        return null;
      }
    },

    async deletePrefix(prefix) {
      const clean = prefix.replace(/\/+$/, '');
      const p = pathOf(clean);
      try {
        await stat(p);
      } catch {
        return 0;
      }
      await rm(p, { recursive: true, force: true });
      return 1;
    },
  };
}

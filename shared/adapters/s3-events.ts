// Object-finalized events in process for a store that has no notifications of its own (the S3 store in the
// single process), fired like the local store's: after the put completes, never failing it.
import { randomUUID } from 'node:crypto';
import type { BlobStore, ObjectFinalized } from '../core/ports.ts';

export interface FinalizingBlobStore extends BlobStore {
  onFinalize(listener: (ev: ObjectFinalized) => void): () => void;
}

export function finalizingBlobStore(blobs: BlobStore, bucket: string): FinalizingBlobStore {
  const listeners = new Set<(ev: ObjectFinalized) => void>();
  return {
    get: (key) => blobs.get(key),
    stat: (key) => blobs.stat(key),
    deletePrefix: (prefix) => blobs.deletePrefix(prefix),
    ...(blobs.signedUrl ? { signedUrl: blobs.signedUrl.bind(blobs) } : {}),
    async put(key, body, opts) {
      const stored = await blobs.put(key, body, opts);
      const ev: ObjectFinalized = {
        eventId: randomUUID(),
        bucket,
        name: stored.key,
        contentType: stored.contentType,
        size: stored.size,
        metadata: { ...opts.metadata, sha256: stored.sha256 },
        time: new Date().toISOString(),
      };
      for (const l of listeners) queueMicrotask(() => l(ev));
      return stored;
    },
    onFinalize(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

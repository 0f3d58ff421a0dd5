// Object-finalized events in process for a store that has no notifications of its own (the S3 store in the
// single process), fired like the local store's: after the put completes, never failing it.
import { announcingPuts } from './blob-stream.ts';
import type { BlobStore, ObjectFinalized } from '../core/ports.ts';

export interface FinalizingBlobStore extends BlobStore {
  onFinalize(listener: (ev: ObjectFinalized) => void): () => void;
}

export function finalizingBlobStore(blobs: BlobStore, bucket: string): FinalizingBlobStore {
  const listeners = new Set<(ev: ObjectFinalized) => void>();
  return {
    ...announcingPuts(blobs, bucket, (ev) => {
      for (const l of listeners) queueMicrotask(() => l(ev));
    }),
    onFinalize(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

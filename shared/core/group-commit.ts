// Group commit: calls that arrive while the database is busy go together in its next round trip. No timer: a call
// that finds a free slot starts at once (with whatever arrived in the same tick); the others wait for a slot and
// go together, so batches grow with load and a lone call pays nothing. Used for POST /archive's snapshots
// (shared/db/article-batch.ts), the Postgres limiter's hits and the Postgres job queue's publishes.

export interface GroupCommitOptions<T> {
  /** Items in one batch at most. Default 64. */
  maxBatch?: number;
  /** Batches running at once (each usually holds a pooled connection). Default 2. */
  maxInFlight?: number;
  /**
   * Whether a waiting item may join the batch being formed (which holds at least its first item); one that may
   * not waits for a later batch, keeping its place. Default: any item fits.
   */
  fits?: (item: T, batch: readonly T[]) => boolean;
  /** Told the size of each batch as it starts (tests, metrics). */
  onBatch?: (size: number) => void;
}

/**
 * Wraps `run`, which handles a batch and answers one result per item in order (or a promise of it, for an item
 * with an outcome of its own; the batch's slot is held until those settle). When `run` throws, every call in the
 * batch rejects with that error.
 */
export function groupCommit<T, R>(
  run: (batch: T[]) => Promise<ReadonlyArray<R | Promise<R>>>,
  opts: GroupCommitOptions<T> = {},
): GroupCommit<T, R> {
  const maxBatch = opts.maxBatch ?? 64;
  const maxInFlight = opts.maxInFlight ?? 2;
  const fits = opts.fits ?? (() => true);
  interface Waiting {
    item: T;
    resolve(r: R | Promise<R>): void;
    reject(err: unknown): void;
  }
  let waiting: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;

  function pump(): void {
    scheduled = false;
    while (inFlight < maxInFlight && waiting.length) {
      const calls: Waiting[] = [];
      const batch: T[] = [];
      const rest: Waiting[] = [];
      for (const w of waiting) {
        if (calls.length < maxBatch && (calls.length === 0 || fits(w.item, batch))) {
          calls.push(w);
          batch.push(w.item);
        } else rest.push(w);
      }
      waiting = rest;
      inFlight++;
      void Promise.resolve()
        .then(() => {
          opts.onBatch?.(batch.length);
          return run(batch);
        })
        .then(
          async (results) => {
            calls.forEach((c, i) => c.resolve(results[i]!));
            // The slot stays taken until every item's own outcome is known, so load stays bounded.
            await Promise.allSettled(results);
          },
          (err: unknown) => calls.forEach((c) => c.reject(err)),
        )
        .finally(() => {
          inFlight--;
          pump();
        });
    }
  }

  const call = (item: T) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(pump);
      }
    });
  return Object.assign(call, { busy: () => inFlight > 0 || waiting.length > 0 });
}

/** The grouped call, and whether any batch is running or waiting (what a close() drains). */
export type GroupCommit<T, R> = ((item: T) => Promise<R>) & { busy(): boolean };

// The one timeout helper of the code base: bounds a promise in time (browsertrix's `timedRun`).
// The promise itself is not cancelled; callers that can stop the work pass an AbortSignal to it as well.

export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** Resolves or rejects as `p` does, or rejects with TimeoutError(`message`) after `ms` milliseconds. */
export function withTimeout<T>(p: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(message)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

// In-memory RateLimiter and HostLimiter for the embedded mode (one process): the same semantics as
// the Redis adapters (sliding-window limit with Retry-After, a per-host counting semaphore), without a server.
import { systemClock, type Clock, type HostLimiter, type RateLimiter } from '../core/ports.ts';

/** Sliding-window log: a hit is allowed when fewer than `limit` allowed hits fall in the last window. */
export function createMemoryRateLimiter(opts: { clock?: Clock } = {}): RateLimiter {
  const clock = opts.clock ?? systemClock;
  const hits = new Map<string, number[]>();
  let calls = 0;
  return {
    async hit(key, limit, windowSeconds) {
      const now = clock.now().getTime();
      const windowMs = windowSeconds * 1000;
      // Bound memory: every so often drop keys whose whole log has slid out of its window.
      if (++calls % 1000 === 0) {
        for (const [k, log] of hits) if (!log.length || log[log.length - 1] <= now - windowMs) hits.delete(k);
      }
      let log = hits.get(key);
      if (!log) hits.set(key, (log = []));
      while (log.length && log[0] <= now - windowMs) log.shift();
      if (log.length < limit) {
        log.push(now);
        return { allowed: true, retryAfterSeconds: 0 };
      }
      const oldest = log[log.length - limit];
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((oldest + windowMs - now) / 1000)) };
    },
  };
}

export interface MemoryHostLimiterOptions {
  maxPerHost: number;
}

/**
 * At most `maxPerHost` holders per host; waiters queue in order and wake on release. No lease
 * expiry is needed here: a crash that could leak a slot takes the whole process (and the map) with it.
 */
export function createMemoryHostLimiter(opts: MemoryHostLimiterOptions): HostLimiter & { inUse(host: string): number } {
  if (!(opts.maxPerHost >= 1)) throw new RangeError('maxPerHost must be at least 1');
  const slots = new Map<string, { holders: number; waiters: Array<() => void> }>();
  const state = (host: string) => {
    let s = slots.get(host);
    if (!s) slots.set(host, (s = { holders: 0, waiters: [] }));
    return s;
  };
  return {
    inUse: (host) => slots.get(host.toLowerCase())?.holders ?? 0,
    async acquire(rawHost, signal) {
      const host = rawHost.toLowerCase();
      signal?.throwIfAborted();
      const s = state(host);
      if (s.holders < opts.maxPerHost) s.holders++;
      else {
        // The releasing holder hands its slot straight to the first waiter, so latecomers cannot jump the queue.
        await new Promise<void>((resolve, reject) => {
          const wake = () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          const onAbort = () => {
            const i = s.waiters.indexOf(wake);
            if (i >= 0) s.waiters.splice(i, 1);
            reject(signal!.reason);
          };
          s.waiters.push(wake);
          signal?.addEventListener('abort', onAbort, { once: true });
        });
      }
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        const next = s.waiters.shift();
        if (next) return next();
        s.holders--;
        if (s.holders === 0) slots.delete(host);
      };
    },
  };
}

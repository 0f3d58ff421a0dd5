// The embedded stand-in for a Cloud Tasks queue: named tasks (a name is refused while remembered,
// like Cloud Tasks' tombstones), dispatch at most `ratePerSecond` and `maxConcurrent` at a time,
// retries with exponential backoff up to `maxAttempts`, then the task is dropped and logged.
import type { Logger } from '../../shared/core/logger.ts';
import type { TaskQueue } from '../../shared/core/ports.ts';

export interface TaskInfo {
  name: string;
  /** 1 for the first dispatch. */
  attempt: number;
  maxAttempts: number;
}

export interface InProcessTaskQueueOptions {
  handler: (payload: unknown, info: TaskInfo) => Promise<void>;
  ratePerSecond: number;
  maxConcurrent: number;
  maxAttempts: number;
  logger: Logger;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a task name stays taken after it was created (Cloud Tasks: about an hour). */
  nameRetentionMs?: number;
}

export interface InProcessTaskQueue extends TaskQueue {
  /** Resolves once nothing is queued, running or waiting for a retry. */
  drain(): Promise<void>;
  /** Stops dispatching, drops what is queued and waits for the running handlers. */
  close(): Promise<void>;
  readonly stats: { dispatched: number; succeeded: number; failed: number; dropped: number };
}

interface Entry {
  name: string;
  payload: unknown;
  attempt: number;
}

export function createInProcessTaskQueue(opts: InProcessTaskQueueOptions): InProcessTaskQueue {
  if (!(opts.ratePerSecond > 0) || opts.maxConcurrent < 1 || opts.maxAttempts < 1)
    throw new RangeError('invalid queue limits');
  const log = opts.logger.child({ component: 'task-queue' });
  const interval = 1000 / opts.ratePerSecond;
  const minBackoff = opts.minBackoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 60_000;
  const retention = opts.nameRetentionMs ?? 3_600_000;

  const names = new Map<string, number>(); // name -> time it was created
  const ready: Entry[] = [];
  const retryTimers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<void>>();
  let nextSlot = 0; // earliest time the next dispatch may start
  let pumpTimer: NodeJS.Timeout | null = null;
  let closed = false;
  let idleWaiters: Array<() => void> = [];
  const stats = { dispatched: 0, succeeded: 0, failed: 0, dropped: 0 };

  const idle = () => ready.length === 0 && running.size === 0 && retryTimers.size === 0;
  function checkIdle(): void {
    if (!idle()) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const fn of w) fn();
  }

  function pump(): void {
    if (closed || pumpTimer) return;
    while (ready.length > 0 && running.size < opts.maxConcurrent) {
      const now = Date.now();
      if (now < nextSlot) {
        pumpTimer = setTimeout(() => {
          pumpTimer = null;
          pump();
        }, nextSlot - now);
        return;
      }
      nextSlot = Math.max(now, nextSlot) + interval;
      dispatch(ready.shift()!);
    }
  }

  function dispatch(e: Entry): void {
    stats.dispatched++;
    const info: TaskInfo = { name: e.name, attempt: e.attempt, maxAttempts: opts.maxAttempts };
    const p = (async () => {
      try {
        await opts.handler(e.payload, info);
        stats.succeeded++;
      } catch (err) {
        if (closed) return;
        if (e.attempt >= opts.maxAttempts) {
          stats.dropped++;
          log.error({ task: e.name, attempt: e.attempt, err }, 'task dropped after its last attempt');
          return;
        }
        stats.failed++;
        const delay = Math.min(maxBackoff, minBackoff * 2 ** (e.attempt - 1));
        log.warn({ task: e.name, attempt: e.attempt, delayMs: delay, err }, 'task failed, retrying');
        const t = setTimeout(() => {
          retryTimers.delete(t);
          ready.push({ ...e, attempt: e.attempt + 1 });
          pump();
        }, delay);
        retryTimers.add(t);
      }
    })().finally(() => {
      running.delete(p);
      pump();
      checkIdle();
    });
    running.add(p);
  }

  return {
    stats,
    async enqueue({ name, payload }) {
      if (closed) throw new Error('task queue is closed');
      const now = Date.now();
      for (const [n, at] of names) {
        if (now - at < retention) break; // insertion order is creation order
        names.delete(n);
      }
      if (names.has(name)) return 'duplicate';
      names.set(name, now);
      ready.push({ name, payload, attempt: 1 });
      pump();
      return 'created';
    },
    drain() {
      return idle() ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    async close() {
      closed = true;
      if (pumpTimer) clearTimeout(pumpTimer);
      for (const t of retryTimers) clearTimeout(t);
      retryTimers.clear();
      if (ready.length) log.warn({ dropped: ready.length }, 'task queue closed with tasks still queued');
      ready.length = 0;
      await Promise.allSettled([...running]);
      checkIdle();
    },
  };
}

// Bounded text processing off the event loop: text tasks (Readability, word counts, PDF text) run in a small
// pool of worker threads, each task under a hard timeout and the capture's abort signal, either of which
// terminates its thread (the only way to stop synchronous work) and fails the task; a fresh thread replaces it.
import { Worker } from 'node:worker_threads';
import { PermanentError } from '../../shared/core/errors.ts';
import type { ReadableDoc } from './readable.ts';

export type TextTask =
  | { kind: 'readable'; html: string; url: string }
  | { kind: 'words'; text: string }
  | { kind: 'pdf'; bytes: Uint8Array };

type TextResult<T extends TextTask> = T extends { kind: 'readable' }
  ? ReadableDoc
  : T extends { kind: 'words' }
    ? number
    : { text: string; title: string | null };

export interface TextTaskOptions {
  signal?: AbortSignal;
  /** Hard limit for the task; default DEFAULT_TEXT_TIMEOUT_MS. */
  timeoutMs?: number;
}

export const DEFAULT_TEXT_TIMEOUT_MS = 20_000;
/** Threads at most; more tasks wait for one (the browser runs few captures at a time). */
const MAX_WORKERS = 2;
/** A huge DOM or PDF runs the thread out of heap (reported as too_large), not the process. */
const WORKER_HEAP_MB = 512;

const idle: Worker[] = [];
const waiting: Array<(w: Worker) => void> = [];
let live = 0;
let seq = 0;

function spawnWorker(): Worker {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './text-worker.ts' : './text-worker.js', import.meta.url);
  const options = { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } };
  // Under tsx (npm start, the containers, the tests) a worker thread does not inherit the TypeScript loader:
  // a one-line module registers it in the thread first.
  const w = entry.pathname.endsWith('.ts')
    ? new Worker(
        new URL(
          'data:text/javascript,' +
            encodeURIComponent(
              `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register();` +
                `await import(${JSON.stringify(entry.href)});`,
            ),
        ),
        options,
      )
    : new Worker(entry, options);
  w.unref(); // an idle thread must not keep the process alive
  live++;
  return w;
}

async function acquire(signal?: AbortSignal): Promise<Worker> {
  const w = idle.pop();
  if (w) return w;
  if (live < MAX_WORKERS) return spawnWorker();
  return new Promise<Worker>((resolve, reject) => {
    const take = (worker: Worker) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(worker);
    };
    const onAbort = () => {
      waiting.splice(waiting.indexOf(take), 1);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    waiting.push(take);
  });
}

function release(w: Worker): void {
  const next = waiting.shift();
  if (next) next(w);
  else idle.push(w);
}

/** Terminates a thread that overran or was aborted; a waiting task gets a fresh one. */
function discard(w: Worker): void {
  live--;
  void w.terminate();
  const next = waiting.shift();
  if (next) next(spawnWorker());
}

/** Runs `task` in a worker thread; rejects with PermanentError timeout / too_large, the abort reason, or its error. */
export async function runTextTask<T extends TextTask>(task: T, opts: TextTaskOptions = {}): Promise<TextResult<T>> {
  const { signal } = opts;
  const ms = opts.timeoutMs ?? DEFAULT_TEXT_TIMEOUT_MS;
  signal?.throwIfAborted();
  const w = await acquire(signal);
  const id = ++seq;
  return new Promise<TextResult<T>>((resolve, reject) => {
    let settled = false;
    const finish = (keep: boolean, fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      w.off('message', onMessage);
      w.off('error', onError);
      w.off('exit', onExit);
      if (keep) release(w);
      else discard(w);
      fn();
    };
    const onMessage = (m: { id: number; ok: boolean; value?: unknown; error?: { name?: string; message: string } }) => {
      if (m.id !== id) return;
      finish(true, () =>
        m.ok ? resolve(m.value as TextResult<T>) : reject(Object.assign(new Error(m.error!.message), m.error)),
      );
    };
    const onError = (err: Error & { code?: string }) =>
      finish(false, () =>
        reject(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new PermanentError('too_large', `text processing (${task.kind}) ran out of its ${WORKER_HEAP_MB} MB`)
            : err,
        ),
      );
    const onExit = () => finish(false, () => reject(new Error(`the text worker exited during ${task.kind}`)));
    const onAbort = () => finish(false, () => reject(signal!.reason));
    const timer = setTimeout(
      () =>
        finish(false, () => reject(new PermanentError('timeout', `text processing (${task.kind}) took over ${ms} ms`))),
      ms,
    );
    w.on('message', onMessage);
    w.on('error', onError);
    w.on('exit', onExit);
    signal?.addEventListener('abort', onAbort, { once: true });
    w.postMessage({ id, task });
  });
}

/** Terminates the idle threads (tests, shutdown); running tasks keep theirs until they finish. */
export async function closeTextWorkers(): Promise<void> {
  const ws = idle.splice(0);
  live -= ws.length;
  await Promise.all(ws.map((w) => w.terminate()));
}

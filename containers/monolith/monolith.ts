// The monolith run: the binary started without a shell in its own process group behind the egress proxy,
// stdout streamed into the caller's sink under a byte cap, and every way it can end turned into a stable error
// code (monolith_failed, timeout, too_large, monolith_unavailable). Arguments: args.ts; the binary: binary.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { PermanentError, TransientError } from '../../shared/core/errors.ts';
import { proxyEnv } from '../../shared/net/egress-proxy.ts';
import type { Logger } from '../../shared/core/logger.ts';
import { describeExit } from './version.ts';
import { buildMonolithArgs, type MonolithArgsOptions } from './args.ts';

// Callers import the wrapper from here: the run, its arguments, the binary and its version.
export { parseMonolithVersion, PINNED_MONOLITH_VERSION } from './version.ts';
export { buildMonolithArgs, type MonolithArgsOptions } from './args.ts';
export { findMonolith, monolithVersion } from './binary.ts';

export const MONOLITH_ERROR_CODES = ['monolith_failed', 'timeout', 'too_large', 'monolith_unavailable'] as const;
export type MonolithErrorCode = (typeof MONOLITH_ERROR_CODES)[number];

export interface MonolithRunOptions extends MonolithArgsOptions {
  binary: string;
  /** The egress proxy (shared/net/egress-proxy.ts) every request of the child goes through. */
  proxyUrl: string;
  /** Wall-clock limit for the whole run; past it the process group is killed. */
  timeoutMs: number;
  /** Output cap in bytes; past it the process group is killed and the run fails `too_large`. */
  maxBytes: number;
  signal?: AbortSignal;
  logger: Logger;
  /** Extra environment for the child (locale; test hooks of the stand-in). Proxy variables always win. */
  env?: Record<string, string>;
  /** How much of stderr is kept for the error message. Default 16 KiB. */
  stderrLimitBytes?: number;
}

export interface MonolithResult<T> {
  /** What the sink returned (e.g. the stored object's metadata). */
  value: T;
  /** Bytes monolith wrote to stdout. */
  bytes: number;
  durationMs: number;
  /** The last part of stderr (bounded): monolith lists the assets it fetched or failed there. */
  stderrTail: string;
  args: string[];
}

const DEFAULT_STDERR_LIMIT = 16 * 1024;
/** After a kill or a sink failure, how long to wait for the sink and the process to settle. */
const SETTLE_GRACE_MS = 5_000;

/** Kills the whole process group (the child leads it: spawned detached); ESRCH means it is already gone. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function childEnv(opts: MonolithRunOptions, tmp: string): Record<string, string> {
  return {
    // The node running us is on PATH so an interpreter-based binary (the test stand-in) can start.
    PATH: [dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(delimiter),
    HOME: tmp,
    // monolith keeps its asset cache in a temp file; a per-run TMPDIR lets us remove it even after SIGKILL.
    TMPDIR: tmp,
    LANG: 'C.UTF-8',
    ...opts.env,
    ...proxyEnv(opts.proxyUrl),
  };
}

/**
 * Runs one capture. `sink` receives monolith's stdout; it sees a clean end only if monolith exited 0 within
 * the limits, otherwise the stream is destroyed with the PermanentError that the run rejects with.
 */
export async function runMonolith<T>(
  opts: MonolithRunOptions,
  sink: (stdout: Readable) => Promise<T>,
): Promise<MonolithResult<T>> {
  const args = buildMonolithArgs(opts);
  const log = opts.logger.child({ component: 'monolith', url: opts.url });
  if (opts.signal?.aborted) throw abortError(opts.signal);
  const stderrLimit = opts.stderrLimitBytes ?? DEFAULT_STDERR_LIMIT;
  const started = Date.now();
  const tmp = await mkdtemp(join(tmpdir(), 'htbase-monolith-'));
  try {
    return await runInGroup(opts, args, tmp, stderrLimit, started, log, sink);
  } finally {
    await rm(tmp, { recursive: true, force: true }).catch((err: unknown) =>
      log.warn({ err }, 'monolith temp dir cleanup failed'),
    );
  }
}

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new TransientError('aborted', 'the capture was aborted');
}

function runInGroup<T>(
  opts: MonolithRunOptions,
  args: string[],
  tmp: string,
  stderrLimit: number,
  started: number,
  log: Logger,
  sink: (stdout: Readable) => Promise<T>,
): Promise<MonolithResult<T>> {
  return new Promise<MonolithResult<T>>((resolve, reject) => {
    const useStdin = opts.stdinHtml !== undefined;
    const child = spawn(opts.binary, args, {
      detached: true, // its own process group, so a kill takes every child it started with it
      stdio: [useStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: childEnv(opts, tmp),
      cwd: tmp,
      shell: false,
      windowsHide: true,
    });
    log.debug({ args, pid: child.pid }, 'monolith started');

    let failure: Error | null = null;
    let bytes = 0;
    let stderr = Buffer.alloc(0);
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let stdoutEnded = false;
    let sinkState: { ok: true; value: T } | { ok: false; err: unknown } | null = null;
    let finished = false;
    let graceTimer: NodeJS.Timeout | undefined;

    const out = new PassThrough();
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > opts.maxBytes) {
          cb();
          fail(new PermanentError('too_large', `the monolith output exceeded the ${opts.maxBytes}-byte cap`));
          return;
        }
        cb(null, chunk);
      },
    });

    const wallClock = setTimeout(() => {
      fail(new PermanentError('timeout', `monolith did not finish within ${Math.round(opts.timeoutMs / 1000)} s`));
    }, opts.timeoutMs);
    const onAbort = (): void => fail(abortError(opts.signal!));
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    function fail(err: Error): void {
      if (failure || finished) return;
      failure = err;
      log.info(
        { code: (err as PermanentError).code, pid: child.pid },
        'monolith run failed, killing its process group',
      );
      killGroup(child);
      child.stdout?.destroy();
      child.stderr?.destroy();
      out.destroy(err);
      // The sink should settle once its stream is destroyed; do not wait for it forever.
      graceTimer = setTimeout(() => settle(true), SETTLE_GRACE_MS);
      settle();
    }

    function settle(force = false): void {
      if (finished) return;
      const processDone = exited !== null;
      if (failure) {
        if (!(processDone && sinkState) && !force) return;
        finish();
        reject(failure);
        return;
      }
      if (!processDone || !stdoutEnded || !sinkState) return;
      finish();
      if (sinkState.ok) {
        resolve({
          value: sinkState.value,
          bytes,
          durationMs: Date.now() - started,
          stderrTail: stderr.toString('utf8'),
          args,
        });
      } else reject(sinkState.err);
    }

    function finish(): void {
      finished = true;
      clearTimeout(wallClock);
      clearTimeout(graceTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // Whatever happened, nothing of this run may outlive it.
      killGroup(child);
    }

    function onExitAndDrained(): void {
      if (failure || !exited || !stdoutEnded) return;
      const { code, signal } = exited;
      if (code === 0 && signal === null) {
        if (bytes === 0) {
          fail(new PermanentError('monolith_failed', 'monolith exited 0 but wrote nothing'));
          return;
        }
        out.end();
        return;
      }
      const d = describeExit(code, signal, stderr.toString('utf8'));
      fail(new PermanentError(d.code, d.message));
    }

    child.on('error', (err: NodeJS.ErrnoException) => {
      const unavailable = err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'ENOEXEC';
      if (unavailable)
        fail(new PermanentError('monolith_unavailable', `monolith could not be started (${err.code}): ${opts.binary}`));
      else fail(err);
      // With no process, 'exit' never comes.
      if (child.pid === undefined) {
        exited = { code: null, signal: null };
        settle();
      }
    });
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      // Grandchildren that kept stdout open would stop 'end' from ever coming: take them down now.
      killGroup(child);
      log.debug({ code, signal, bytes, ms: Date.now() - started }, 'monolith exited');
      onExitAndDrained();
      settle();
    });

    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = Buffer.concat([stderr, chunk]);
      if (stderr.length > stderrLimit) stderr = stderr.subarray(stderr.length - stderrLimit);
    });
    child.stderr!.on('error', () => undefined); // destroyed on purpose in fail()

    child.stdout!.on('error', () => undefined);
    counter.on('end', () => {
      stdoutEnded = true;
      onExitAndDrained();
      settle();
    });
    child.stdout!.pipe(counter).pipe(out, { end: false });

    if (useStdin) {
      // EPIPE here just means monolith ended before reading everything; its exit code tells the story.
      child.stdin!.on('error', (err) => log.debug({ err }, 'monolith stdin closed early'));
      child.stdin!.end(typeof opts.stdinHtml === 'string' ? Buffer.from(opts.stdinHtml, 'utf8') : opts.stdinHtml);
    }

    Promise.resolve()
      .then(() => sink(out))
      .then(
        (value) => {
          sinkState = { ok: true, value };
          settle();
        },
        (err: unknown) => {
          sinkState = { ok: false, err };
          // A storage failure ends the run; our own failure (already set) stays the reported one.
          if (!failure) fail(err instanceof Error ? err : new Error(String(err)));
          settle();
        },
      );
  });
}

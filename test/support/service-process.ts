// What every local test server shares: the handle shape, spawning a server process we own by PID (with its log
// in its own temp dir), waiting until it answers, and stopping it. A crashing test process leaves none behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServiceHandle {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The directory holding the service's data and its log (removed by stop()). */
  readonly dir: string;
  readonly pid: number;
  /** Environment variables a deployable needs to reach this service. */
  readonly env: Record<string, string>;
  /** Kills the process by PID, waits for it to exit and removes its directory. Idempotent. */
  stop(): Promise<void>;
}
export class ServiceUnavailableError extends Error {
  override name = 'ServiceUnavailableError';
}

// Every child we start, so a crashing test process does not leave servers behind.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A port that was free a moment ago. Servers that cannot bind port 0 themselves take this. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `htbase-${name}-`));
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends `signal`, then SIGKILL after `graceMs`, and resolves once the process has exited. */
export async function killAndWait(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

export interface SpawnSpec {
  name: string;
  cmd: string;
  args: string[];
  dir: string;
  log: string;
  uid?: number;
  gid?: number;
  /** Resolves true once the service answers. */
  ready: () => Promise<boolean>;
  readyTimeoutMs: number;
  stopSignal?: NodeJS.Signals;
}

export async function spawnService(spec: SpawnSpec): Promise<ChildProcess> {
  const fd = openSync(spec.log, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.cmd, spec.args, {
      cwd: spec.dir,
      stdio: ['ignore', fd, fd],
      uid: spec.uid,
      gid: spec.gid,
      env: { ...process.env, HOME: spec.dir },
    });
  } finally {
    closeSync(fd);
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err));
  const deadline = Date.now() + spec.readyTimeoutMs;
  while (Date.now() < deadline) {
    if (spawnError) throw new ServiceUnavailableError(`${spec.name}: cannot start ${spec.cmd}: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ServiceUnavailableError(
        `${spec.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail(spec.log)}`,
      );
    }
    if (await spec.ready().catch(() => false)) return child;
    await sleep(100);
  }
  await killAndWait(child, 'SIGKILL', 1000);
  throw new ServiceUnavailableError(`${spec.name} not ready within ${spec.readyTimeoutMs} ms:\n${tail(spec.log)}`);
}

export async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.ok;
}

export function makeStop(
  child: ChildProcess,
  dir: string,
  signal: NodeJS.Signals,
  graceMs: number,
): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      await killAndWait(child, signal, graceMs);
      rmSync(dir, { recursive: true, force: true });
    })());
}

export function requireFile(path: string, what: string, hint: string): void {
  if (!existsSync(path)) throw new ServiceUnavailableError(`${what} not found at ${path}. ${hint}`);
}

/** Whether something accepts TCP connections on the port. */
export function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.setTimeout(500);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

/** Stops handles in reverse order, collecting errors instead of stopping at the first. */
export async function stopAll(handles: Array<{ stop(): Promise<void> } | undefined>): Promise<void> {
  const errors: unknown[] = [];
  for (const h of [...handles].reverse()) {
    if (!h) continue;
    try {
      await h.stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length) throw new AggregateError(errors, 'failed to stop some services');
}

// Runs one deployable as its own process, as Cloud Run or Cloud Functions would: the Functions Framework CLI
// for a function target, the container's server otherwise; in its own process group, logging to a file,
// ready once it answers. The topology (topology.ts) starts every deployable through this.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = new URL('../../', import.meta.url).pathname;
const FF_MAIN = join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
export const MONOLITH_STANDIN = join(ROOT, 'test/fakes/monolith-standin/monolith');

/** How each deployable runs: a Functions Framework target, or a container's server. */
export const DEPLOYABLES = {
  api: { kind: 'function', target: 'api', source: 'functions/api/index.ts', ready: '/healthz' },
  // null: ready once the port accepts connections (the Functions Framework listens after loading the module).
  sync: { kind: 'function', target: 'sync', source: 'functions/sync/index.ts', ready: null },
  summarize: { kind: 'function', target: 'summarize', source: 'functions/summarize/index.ts', ready: null },
  summarizeTask: { kind: 'function', target: 'summarizeTask', source: 'functions/summarize/index.ts', ready: null },
  sweep: { kind: 'function', target: 'sweep', source: 'functions/sweep/index.ts', ready: null },
  browser: { kind: 'container', source: 'containers/browser/index.ts', ready: '/healthz' },
  monolith: { kind: 'container', source: 'containers/monolith/index.ts', ready: '/healthz' },
} as const;
export type DeployableName = keyof typeof DEPLOYABLES;

export interface DeployableProcess {
  readonly name: string;
  readonly port: number;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly pid: number;
  readonly env: Readonly<Record<string, string>>;
  readonly logFile: string;
  running(): boolean;
  /** SIGTERM (the process drains), SIGKILL of its process group after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL of its whole process group (the process and its Chromium): a crashed instance. */
  kill(): Promise<void>;
  /** The last lines of its log. */
  tail(lines?: number): string;
}

// Process groups we started, so a crashing parent does not leave deployables (or their Chromium) behind.
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((ok) => child.once('exit', () => ok()));
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.setTimeout(1000);
    s.once('connect', () => (s.destroy(), ok(true)));
    s.once('error', () => ok(false));
    s.once('timeout', () => (s.destroy(), ok(false)));
  });
}

function tailFile(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Keeps only what a deployable needs from the parent's environment (no stray cloud settings leak in). */
function baseProcessEnv(): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ', 'NODE_OPTIONS'];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
}

export interface SpawnArgs {
  name: string;
  kind: DeployableName;
  port: number;
  env: Record<string, string>;
  dir: string;
  onLog?: (line: string) => void;
  /** The API only: serve it with functions/api/server.ts (as one VPS runs it) rather than the Functions Framework. */
  ownServer?: boolean;
}

export async function spawnDeployable(a: SpawnArgs): Promise<DeployableProcess> {
  const spec =
    a.ownServer && a.kind === 'api'
      ? ({ kind: 'container', source: 'functions/api/server.ts', ready: '/healthz' } as const)
      : DEPLOYABLES[a.kind];
  const logFile = join(a.dir, `${a.name}.log`);
  const env = { ...baseProcessEnv(), ...a.env, PORT: String(a.port) };
  const args =
    spec.kind === 'function'
      ? [
          '--import',
          'tsx',
          FF_MAIN,
          `--target=${spec.target}`,
          `--source=${join(ROOT, spec.source)}`,
          `--port=${a.port}`,
        ]
      : ['--import', 'tsx', join(ROOT, spec.source)];
  const fd = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // Its own process group: a SIGKILL of the group takes Chromium with it, as a container kill would.
    child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', fd, fd], detached: true });
  } finally {
    closeSync(fd);
  }
  const pid = child.pid!;
  liveGroups.add(pid);
  // The group may outlive its leader (Chromium): stop() and kill() clean it up by its id.
  const gone = exited(child);
  child.once('exit', (code, signal) => a.onLog?.(`${a.name} (pid ${pid}) exited ${code ?? signal}`));
  const url = `http://127.0.0.1:${a.port}`;
  const proc: DeployableProcess = {
    name: a.name,
    port: a.port,
    url,
    pid,
    env,
    logFile,
    running: () => child.exitCode === null && child.signalCode === null,
    async stop(graceMs = 10_000) {
      if (proc.running()) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        await gone;
        clearTimeout(timer);
      }
      killGroup(pid, 'SIGKILL');
      liveGroups.delete(pid);
    },
    async kill() {
      killGroup(pid, 'SIGKILL');
      await gone;
      liveGroups.delete(pid);
    },
    tail: (lines = 40) => tailFile(logFile, lines),
  };
  // Ready when it answers HTTP at all (functions load their module, migrations included, before listening).
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (!proc.running())
      throw new Error(`${a.name} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${proc.tail()}`);
    if (spec.ready === null) {
      if (await tcpOpen(a.port)) break;
    } else {
      try {
        const res = await fetch(`${url}${spec.ready}`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.ok) break;
      } catch {
        // not listening yet
      }
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${a.name} not ready within 90 s:\n${proc.tail()}`);
    }
    await sleep(150);
  }
  a.onLog?.(`${a.name} (pid ${pid}) listening on ${url}, log ${logFile}`);
  return proc;
}

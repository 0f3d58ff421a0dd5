// Starts the real local servers the cloud path runs against (PostgreSQL 15, Redis, the Pub/Sub and
// Firestore emulators, the Cloud Storage fake), each on a free loopback port in its own temp dir.
// Used by test/cloud/* and, as a CLI, by `npm run dev:cloud`: `tsx test/support/services.ts [names...]`.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, mkdtempSync, chownSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGcsFake, type GcsFake, type GcsFakeOptions } from '../fakes/gcs-server.ts';

const execFileP = promisify(execFile);

export const PG_BIN = process.env.HTBASE_PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const GCLOUD_SDK = process.env.HTBASE_GCLOUD_SDK ?? '/usr/lib/google-cloud-sdk';
export const DEFAULT_PROJECT_ID = 'htbase-local';

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
export interface PostgresHandle extends ServiceHandle {
  readonly databaseUrl: string;
}
export interface RedisHandle extends ServiceHandle {
  readonly url: string;
}
export interface PubSubEmulatorHandle extends ServiceHandle {
  readonly projectId: string;
  /** host:port, what PUBSUB_EMULATOR_HOST and `new PubSub({apiEndpoint})` take. */
  readonly emulatorHost: string;
  /** Deletes every topic and subscription (the emulator's POST /reset). */
  reset(): Promise<void>;
}
export interface FirestoreEmulatorHandle extends ServiceHandle {
  readonly projectId: string;
  readonly emulatorHost: string;
  /** Deletes every document of the default database. */
  clear(): Promise<void>;
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

function tempDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `htbase-${name}-`));
}

function tail(file: string, lines = 30): string {
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
async function killAndWait(child: ChildProcess, signal: NodeJS.Signals, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

interface SpawnSpec {
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

async function spawnService(spec: SpawnSpec): Promise<ChildProcess> {
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

async function httpOk(url: string, timeoutMs = 1000): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.ok;
}

function makeStop(child: ChildProcess, dir: string, signal: NodeJS.Signals, graceMs: number): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      await killAndWait(child, signal, graceMs);
      rmSync(dir, { recursive: true, force: true });
    })());
}

function requireFile(path: string, what: string, hint: string): void {
  if (!existsSync(path)) throw new ServiceUnavailableError(`${what} not found at ${path}. ${hint}`);
}

// ---------------------------------------------------------------- PostgreSQL
/** PostgreSQL 15 on a throwaway cluster (trust auth, no fsync). Runs as `postgres` when we are root. */
export async function startPostgres(opts: { database?: string } = {}): Promise<PostgresHandle> {
  requireFile(
    join(PG_BIN, 'postgres'),
    'PostgreSQL 15',
    'Install it with `apt-get install -y postgresql-15` or set HTBASE_PG_BIN.',
  );
  const dir = tempDir('pg');
  const data = join(dir, 'data');
  let uid: number | undefined;
  let gid: number | undefined;
  // Postgres refuses to run as root: hand the directory to the postgres user and run as it.
  if (process.getuid?.() === 0) {
    const { stdout } = await execFileP('id', ['-u', 'postgres']).catch(() => {
      throw new ServiceUnavailableError('running as root but there is no `postgres` user to run PostgreSQL as');
    });
    uid = Number(stdout.trim());
    gid = Number((await execFileP('id', ['-g', 'postgres'])).stdout.trim());
    chownSync(dir, uid, gid);
  }
  await execFileP(
    join(PG_BIN, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
    { uid, gid, timeout: 60_000, env: { ...process.env, HOME: dir } },
  ).catch((err) => {
    rmSync(dir, { recursive: true, force: true });
    throw new ServiceUnavailableError(`initdb failed: ${err.stderr || err.message}`);
  });
  const log = join(dir, 'server.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      // Run the postmaster itself (not pg_ctl) so we own its PID and see it exit.
      const child = await spawnService({
        name: 'postgres',
        cmd: join(PG_BIN, 'postgres'),
        args: [
          '-D',
          data,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=200',
        ],
        dir,
        log,
        uid,
        gid,
        ready: () => tcpOpen(port).then((open) => open && pgReady(port, dir)),
        readyTimeoutMs: 30_000,
      });
      const db = opts.database ?? 'htbase';
      if (db !== 'postgres') {
        await execFileP(join(PG_BIN, 'createdb'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', db], {
          timeout: 30_000,
        });
      }
      const databaseUrl = `postgres://postgres@127.0.0.1:${port}/${db}`;
      return {
        name: 'postgres',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        databaseUrl,
        env: { DATABASE_URL: databaseUrl },
        // SIGINT is Postgres's "fast shutdown": roll back open transactions, close, exit.
        stop: makeStop(child, dir, 'SIGINT', 10_000),
      };
    } catch (err) {
      if (attempt < 2 && /could not bind|Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

async function pgReady(port: number, dir: string): Promise<boolean> {
  if (!existsSync(join(PG_BIN, 'pg_isready'))) return true;
  try {
    await execFileP(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'], {
      timeout: 2000,
      cwd: dir,
    });
    return true;
  } catch {
    return false;
  }
}

function tcpOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host });
    s.setTimeout(500);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

// ---------------------------------------------------------------- Redis
function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.setTimeout(500);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => (s.destroy(), resolve(d.toString().startsWith('+PONG'))));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

export function findRedisServer(): string | null {
  for (const p of [process.env.HTBASE_REDIS_SERVER, '/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
    if (p && existsSync(p)) return p;
  }
  return null;
}

/** redis-server without persistence, in the foreground so its PID is ours. */
export async function startRedis(): Promise<RedisHandle> {
  const bin = findRedisServer();
  if (!bin)
    throw new ServiceUnavailableError(
      'redis-server not found. Install it with `apt-get install -y redis-server` (or set HTBASE_REDIS_SERVER).',
    );
  const dir = tempDir('redis');
  const log = join(dir, 'redis.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnService({
        name: 'redis',
        cmd: bin,
        args: [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--daemonize',
          'no',
        ],
        dir,
        log,
        ready: () => redisPing(port),
        readyTimeoutMs: 15_000,
      });
      const url = `redis://127.0.0.1:${port}`;
      return {
        name: 'redis',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        url,
        env: { REDIS_URL: url },
        stop: makeStop(child, dir, 'SIGTERM', 5000),
      };
    } catch (err) {
      if (attempt < 2 && /Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

// ---------------------------------------------------------------- emulators
function findJava(): string {
  for (const p of [
    process.env.JAVA_HOME && join(process.env.JAVA_HOME, 'bin/java'),
    '/usr/bin/java',
    '/usr/local/bin/java',
  ]) {
    if (p && existsSync(p)) return p;
  }
  throw new ServiceUnavailableError(
    'java not found: the Google Cloud emulators need a Java runtime (apt-get install -y default-jre-headless).',
  );
}

export function findPubSubJar(): string {
  const lib = join(GCLOUD_SDK, 'platform/pubsub-emulator/lib');
  const jar = existsSync(lib) ? readdirSync(lib).find((f) => /^cloud-pubsub-emulator-.*-all\.jar$/.test(f)) : undefined;
  if (!jar) {
    throw new ServiceUnavailableError(
      `Pub/Sub emulator jar not found under ${lib}. Install it with \`gcloud components install pubsub-emulator\` ` +
        '(or apt-get install google-cloud-cli-pubsub-emulator), or set HTBASE_GCLOUD_SDK.',
    );
  }
  return join(lib, jar);
}

export function findFirestoreJar(): string {
  const jar = join(GCLOUD_SDK, 'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar');
  requireFile(
    jar,
    'Firestore emulator jar',
    'Install it with `gcloud components install cloud-firestore-emulator` (or apt-get install google-cloud-cli-firestore-emulator), or set HTBASE_GCLOUD_SDK.',
  );
  return jar;
}

/** The Pub/Sub emulator jar, run directly (no gcloud wrapper, so the PID is the JVM's). */
export async function startPubSubEmulator(opts: { projectId?: string } = {}): Promise<PubSubEmulatorHandle> {
  const jar = findPubSubJar();
  const java = findJava();
  const projectId = opts.projectId ?? DEFAULT_PROJECT_ID;
  const dir = tempDir('pubsub');
  const log = join(dir, 'pubsub.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnService({
        name: 'pubsub-emulator',
        cmd: java,
        args: ['-Xmx256m', '-jar', jar, '--host=127.0.0.1', `--port=${port}`],
        dir,
        log,
        ready: () => httpOk(`http://127.0.0.1:${port}/`),
        readyTimeoutMs: 30_000,
      });
      const emulatorHost = `127.0.0.1:${port}`;
      return {
        name: 'pubsub-emulator',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        projectId,
        emulatorHost,
        env: {
          PUBSUB_EMULATOR_HOST: emulatorHost,
          PUBSUB_PROJECT_ID: projectId,
          GOOGLE_CLOUD_PROJECT: projectId,
          METADATA_SERVER_DETECTION: 'none',
        },
        reset: async () => {
          const res = await fetch(`http://${emulatorHost}/reset`, {
            method: 'POST',
            signal: AbortSignal.timeout(5000),
          });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`pubsub emulator reset answered ${res.status}`);
        },
        stop: makeStop(child, dir, 'SIGTERM', 5000),
      };
    } catch (err) {
      if (attempt < 2 && /BindException|Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

/** The Firestore emulator jar, run directly. */
export async function startFirestoreEmulator(opts: { projectId?: string } = {}): Promise<FirestoreEmulatorHandle> {
  const jar = findFirestoreJar();
  const java = findJava();
  const projectId = opts.projectId ?? DEFAULT_PROJECT_ID;
  const dir = tempDir('firestore');
  const log = join(dir, 'firestore.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const wsPort = await freePort();
    try {
      const child = await spawnService({
        name: 'firestore-emulator',
        cmd: java,
        args: [
          '-Xmx512m',
          '-cp',
          jar,
          'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
          'start',
          '--host=127.0.0.1',
          `--port=${port}`,
          `--websocket_port=${wsPort}`,
        ],
        dir,
        log,
        ready: () => httpOk(`http://127.0.0.1:${port}/`),
        readyTimeoutMs: 45_000,
      });
      const emulatorHost = `127.0.0.1:${port}`;
      return {
        name: 'firestore-emulator',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        projectId,
        emulatorHost,
        env: {
          FIRESTORE_EMULATOR_HOST: emulatorHost,
          GOOGLE_CLOUD_PROJECT: projectId,
          METADATA_SERVER_DETECTION: 'none',
        },
        clear: async () => {
          const res = await fetch(
            `http://${emulatorHost}/emulator/v1/projects/${projectId}/databases/(default)/documents`,
            {
              method: 'DELETE',
              signal: AbortSignal.timeout(10_000),
            },
          );
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`firestore emulator clear answered ${res.status}`);
        },
        stop: makeStop(child, dir, 'SIGTERM', 5000),
      };
    } catch (err) {
      if (attempt < 2 && /BindException|Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

// ---------------------------------------------------------------- Cloud Storage fake
export interface GcsHandle extends ServiceHandle {
  readonly apiEndpoint: string;
  readonly fake: GcsFake;
}
/** The in-process Cloud Storage fake (test/fakes/gcs-server.ts) behind the same handle shape. */
export async function startGcs(opts: GcsFakeOptions = {}): Promise<GcsHandle> {
  const fake = await startGcsFake(opts);
  const url = new URL(fake.apiEndpoint);
  return {
    name: 'gcs-fake',
    host: url.hostname,
    port: Number(url.port),
    dir: fake.dir ?? '',
    pid: process.pid,
    fake,
    apiEndpoint: fake.apiEndpoint,
    // Not STORAGE_EMULATOR_HOST: the client then drops the /storage/v1 base path; pass apiEndpoint explicitly.
    env: { STORAGE_API_ENDPOINT: fake.apiEndpoint },
    stop: () => fake.close(),
  };
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

// ---------------------------------------------------------------- CLI
const STARTERS = {
  postgres: () => startPostgres(),
  redis: () => startRedis(),
  pubsub: () => startPubSubEmulator(),
  firestore: () => startFirestoreEmulator(),
  gcs: () => startGcs(),
} satisfies Record<string, () => Promise<ServiceHandle>>;

async function main(argv: string[]): Promise<void> {
  const names = (argv.length ? argv : Object.keys(STARTERS)) as Array<keyof typeof STARTERS>;
  for (const n of names)
    if (!(n in STARTERS)) throw new Error(`unknown service ${n}; known: ${Object.keys(STARTERS).join(', ')}`);
  const handles: ServiceHandle[] = [];
  const shutdown = async () => {
    await stopAll(handles).catch((err) => process.stderr.write(`${String(err)}\n`));
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  try {
    for (const n of names) handles.push(await STARTERS[n]());
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll(handles).catch(() => undefined);
    process.exit(1);
  }
  const env = Object.assign({}, ...handles.map((h) => h.env));
  // One `export` line per variable on stdout so a shell can `eval` it; the rest goes to stderr.
  for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${JSON.stringify(v)}\n`);
  process.stderr.write(`started ${handles.map((h) => `${h.name}:${h.port}`).join(' ')}; Ctrl-C stops them\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  void main(process.argv.slice(2));
}

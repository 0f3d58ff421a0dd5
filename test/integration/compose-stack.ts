// infra/compose/compose.yaml run without Docker: reads the file with `yaml`, interpolates it as Compose does,
// and starts each HT Base service's command with the environment it gives, as a local process against a real
// PostgreSQL 15 (service hostnames map to local ports, volumes to temp dirs, the monolith stand-in for the binary).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { startPostgres, freePort, type PostgresHandle } from '../support/services.ts';
import { MONOLITH_STANDIN } from '../support/processes.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
export const COMPOSE_FILE = join(ROOT, 'infra/compose/compose.yaml');

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number | boolean>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test: string[] };
  restart?: string;
  container_name?: string;
  depends_on?: Record<string, { condition: string }>;
  shm_size?: string;
}
export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

/** Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, $$ for a dollar sign. */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}/g, (m, name, colon, op, arg) => {
    if (m === '$$') return '$';
    const v = env[name];
    const unset = colon ? v === undefined || v === '' : v === undefined;
    if (!op) return v ?? '';
    if (op === '-') return unset ? arg : v!;
    if (unset) throw new Error(`compose: ${arg || `${name} is required`}`);
    return v!;
  });
}

/** Interpolates every string of a parsed document (Compose interpolates values, so `X: ${Y:-}` stays a string). */
function interpolateAll(node: unknown, env: Record<string, string | undefined>): unknown {
  if (typeof node === 'string') return interpolate(node, env);
  if (Array.isArray(node)) return node.map((n) => interpolateAll(n, env));
  if (node && typeof node === 'object')
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, interpolateAll(v, env)]));
  return node;
}

/** The compose file as `docker compose config` would see it: anchors and merge keys resolved, then interpolated. */
export function loadCompose(env: Record<string, string | undefined>): ComposeFile {
  return interpolateAll(parse(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }), env) as ComposeFile;
}

/** The services that run HT Base code (built from this repository), as opposed to PostgreSQL and the volume init. */
export const appServices = (c: ComposeFile) => Object.keys(c.services).filter((s) => c.services[s]!.build);

/** The path the health check asks for on the container's port (`http://127.0.0.1:8080/healthz`). */
export function healthPath(s: ComposeService): string | null {
  const m = /http:\/\/127\.0\.0\.1:8080(\/[^'"\s)]*)/.exec((s.healthcheck?.test ?? []).join(' '));
  return m ? m[1]! : null;
}

export interface ServiceProcess {
  readonly service: string;
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly env: Record<string, string>;
  readonly logFile: string;
  readonly pid: number;
  running(): boolean;
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL of its process group (the process and its Chromium). */
  kill(): Promise<void>;
  log(): string;
}

export interface ComposeStack {
  readonly compose: ComposeFile;
  readonly pg: PostgresHandle;
  readonly db: Kysely<Database>;
  readonly dataDir: string;
  readonly procs: Map<string, ServiceProcess>;
  /** Starts one more process of a service (browser-2 ...), as `--scale` would. */
  start(service: string, name?: string): Promise<ServiceProcess>;
  apiUrl(): string;
  close(): Promise<void>;
}

/** What the images set outside compose.yaml (their Dockerfile ENV), pointed at what exists on this machine. */
function imageEnv(service: string): Record<string, string> {
  if (service === 'monolith') return { MONOLITH_PATH: MONOLITH_STANDIN }; // the stand-in replaces the binary
  if (service === 'browser' && process.env.CHROME_PATH) return { CHROME_PATH: process.env.CHROME_PATH };
  return {};
}

export async function startComposeStack(dotenv: Record<string, string>): Promise<ComposeStack> {
  const compose = loadCompose(dotenv);
  const pg = await startPostgres({ database: 'postgres' }); // the postgres service's own database is made below
  const dir = mkdtempSync(join(tmpdir(), 'htbase-compose-'));
  const dataDir = join(dir, 'artifacts');
  mkdirSync(dataDir);
  const procs = new Map<string, ServiceProcess>();
  let handle: DatabaseHandle | undefined;
  try {
    // The role and database the postgres service's environment creates.
    const pgEnv = compose.services.postgres!.environment as Record<string, string>;
    const admin = new (await import('pg')).default.Client({ connectionString: pg.databaseUrl });
    await admin.connect();
    await admin.query(`CREATE ROLE "${pgEnv.POSTGRES_USER}" LOGIN SUPERUSER PASSWORD '${pgEnv.POSTGRES_PASSWORD}'`);
    await admin.query(`CREATE DATABASE "${pgEnv.POSTGRES_DB}" OWNER "${pgEnv.POSTGRES_USER}"`);
    await admin.end();
  } catch (err) {
    await pg.stop();
    throw err;
  }
  const hostPorts: Record<string, Record<string, number>> = { postgres: { '5432': pg.port } };

  /** Service hostnames in URLs become 127.0.0.1 and the local port; volume paths become the temp dirs. */
  function localEnv(s: ComposeService, port: number): Record<string, string> {
    const mounts = (s.volumes ?? []).map((v) => v.split(':') as [string, string]);
    const out: Record<string, string> = {};
    for (const [k, raw] of Object.entries(s.environment ?? {})) {
      let v = String(raw);
      try {
        const u = new URL(v);
        const mapped = hostPorts[u.hostname]?.[u.port];
        if (mapped) {
          u.hostname = '127.0.0.1';
          u.port = String(mapped);
          v = u.toString();
        }
      } catch {
        // not a URL
      }
      for (const [vol, target] of mounts)
        if (vol === 'artifacts' && (v === target || v.startsWith(`${target}/`))) v = dataDir + v.slice(target.length);
      out[k] = v;
    }
    if (out.PORT) out.PORT = String(port);
    return out;
  }

  async function start(service: string, name = service): Promise<ServiceProcess> {
    const s = compose.services[service];
    if (!s?.command) throw new Error(`compose service ${service} has no command`);
    const port = await freePort();
    const env = { PATH: process.env.PATH ?? '', HOME: dir, ...imageEnv(service), ...localEnv(s, port) };
    const logFile = join(dir, `${name}.log`);
    const [cmd, ...args] = s.command;
    const fd = openSync(logFile, 'a');
    let child: ChildProcess;
    try {
      // The image's working directory is the repository root (/app); `node` is this Node.
      child = spawn(cmd === 'node' ? process.execPath : cmd!, args, {
        cwd: ROOT,
        env,
        stdio: ['ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    const pid = child.pid!;
    const gone = new Promise<void>((ok) => child.once('exit', () => ok()));
    const running = () => child.exitCode === null && child.signalCode === null;
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    const p: ServiceProcess = {
      service,
      name,
      port,
      url: `http://127.0.0.1:${port}`,
      env,
      logFile,
      pid,
      running,
      async stop(graceMs = 15_000) {
        if (running()) {
          child.kill('SIGTERM');
          const t = setTimeout(() => group('SIGKILL'), graceMs);
          await gone;
          clearTimeout(t);
        }
        group('SIGKILL');
      },
      async kill() {
        // Chromium leads its own process group (puppeteer starts it detached): kill the whole tree.
        const tree = descendants(pid);
        group('SIGKILL');
        for (const d of tree) {
          try {
            process.kill(d, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await gone;
      },
      log: () => readFileSync(logFile, 'utf8'),
    };
    procs.set(name, p);
    const path = healthPath(s);
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (!running()) throw new Error(`${name} exited before it was healthy:\n${p.log().slice(-3000)}`);
      const ok = path
        ? await fetch(`${p.url}${path}`, { signal: AbortSignal.timeout(2000) }).then(
            (r) => r.ok,
            () => false,
          )
        : true;
      if (ok) return p;
      if (Date.now() > deadline) throw new Error(`${name} not healthy in time:\n${p.log().slice(-3000)}`);
      await sleep(200);
    }
  }

  const close = async () => {
    await Promise.all([...procs.values()].map((p) => p.stop(8000)));
    await handle?.close();
    await pg.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // depends_on: the API (which migrates the schema) first, then the rest together.
    await start('api');
    const url = localEnv(compose.services.api!, 0).DATABASE_URL!;
    handle = await openDatabase({ databaseUrl: url, maxConnections: 3 });
    await Promise.all(
      appServices(compose)
        .filter((s) => s !== 'api')
        .map((s) => start(s)),
    );
  } catch (err) {
    await close();
    throw err;
  }
  return {
    compose,
    pg,
    db: handle.db,
    dataDir,
    procs,
    start,
    apiUrl: () => procs.get('api')!.url,
    close,
  };
}

/** Every process below `pid`, from /proc (ppid is the fourth field of /proc/N/stat after the name). */
function descendants(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      parent.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** Every `artifact stored` line the capture workers logged, as `articleId/format`. */
export function storedArtifacts(procs: Iterable<ServiceProcess>): string[] {
  const out: string[] = [];
  for (const p of procs) {
    if (p.service !== 'browser' && p.service !== 'monolith') continue;
    for (const line of p.log().split('\n')) {
      if (!line.includes('"artifact stored"')) continue;
      const j = JSON.parse(line) as { articleId: string; artifact: string };
      out.push(`${j.articleId}/${j.artifact}`);
    }
  }
  return out;
}

/** Jobs of a pg-boss queue not yet completed (created, retry or active). */
export async function pendingJobs(db: Kysely<Database>, queue: string): Promise<number> {
  const r = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pgboss.job WHERE name = ${queue}
    AND state IN ('created', 'retry', 'active')`.execute(db);
  return r.rows[0]!.n;
}

// `npm run bench:api [-- --seconds 10 --connections 16 --users 16]`: autocannon against the API as it runs in the
// cloud (its own Functions Framework process on PostgreSQL 15 and the Pub/Sub emulator; Redis limiter, then the
// PostgreSQL one), as one VPS runs it (the PostgreSQL job queue and limiter; on functions/api/server.ts and under the
// Functions Framework), and in the single-process mode, with /healthz on the same server in the same run as
// baseline. `--only redis,pg,vps,limiter,single` picks some of them.
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub } from '@google-cloud/pubsub';
import { sql } from 'kysely';
import { ensureTopology } from '../../shared/adapters/pubsub.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { connectRedis, createRedisRateLimiter } from '../../shared/adapters/redis.ts';
import { createPgRateLimiter } from '../../shared/adapters/pg-rate-limiter.ts';
import { keyFor } from '../support/owners.ts';
import { measureLimiter, printLimiterCosts, type LimiterCost } from './limiter-cost.ts';
import { spawnDeployable, type DeployableProcess } from '../support/processes.ts';
import { freePort, startPostgres, startPubSubEmulator, startRedis, stopAll } from '../support/services.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '16' },
    users: { type: 'string', default: '16' },
    only: { type: 'string' },
    /** Some of the routes only (healthz,post,get,search), e.g. with --profile to see one route's costs alone. */
    routes: { type: 'string' },
    /** A folder: the API processes write V8 CPU profiles there (--cpu-prof), to see where a request's time goes. */
    profile: { type: 'string' },
    /** Keep the servers' logs (printed folder) instead of removing them. */
    'keep-logs': { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const USERS = Number(args.users);
// Far above what the bench sends, so the limiter is exercised on every request but never refuses one.
const HIGH_LIMIT = '100000000';
// A public address literal: the SSRF guard runs in full (no private-network allowance) and needs no DNS.
const TARGET = 'http://93.184.215.14';

interface Autocannon {
  (opts: Record<string, unknown>): Promise<AutocannonResult>;
}
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
}
// autocannon ships no type declarations; the few fields read here are typed above.
const autocannon = (await import('autocannon' as string)).default as Autocannon;

interface Caller {
  key: string;
  ids: string[];
}
interface Row {
  server: string;
  route: string;
  rps: number;
  p50: number;
  p99: number;
  failed: number;
  statuses: string;
  /** The load generator's own CPU over the run, in % of one core (it shares the 2 cores with the server). */
  clientCpu: number;
}

const rows: Row[] = [];
const limiterCosts: LimiterCost[] = [];
let run = 0;

/** One autocannon run; `make(i)` gives the i-th request (method, path, headers, body). */
async function drive(
  server: string,
  route: string,
  base: string,
  make: (i: number) => { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<void> {
  let i = 0;
  const first = make(0);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: SECONDS,
    requests: [
      {
        method: first.method,
        path: first.path,
        setupRequest: (req: Record<string, unknown>) => {
          const m = make(i++);
          return { ...req, method: m.method, path: m.path, headers: { ...m.headers }, body: m.body };
        },
      },
    ],
  });
  const used = process.cpuUsage(cpu0);
  const clientCpu = (100 * (used.user + used.system)) / 1000 / (performance.now() - t0);
  const statuses = Object.entries(r.statusCodeStats)
    .map(([code, s]) => `${code}:${s.count}`)
    .join(' ');
  rows.push({
    server,
    route,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    failed: r.non2xx + r.errors + r.timeouts,
    statuses,
    clientCpu,
  });
  console.log(`  ${route}: ${r.requests.average.toFixed(0)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms`);
  if (r.statusCodeStats['429']) console.log('  WARNING: the rate limiter refused requests; the figures are capped');
}

/** Users with a key each and a few archives of their own (for GET /archives/{id}), titled for the search. */
async function seedCallers(db: DatabaseHandle, base: string): Promise<Caller[]> {
  const callers: Caller[] = [];
  for (let u = 0; u < USERS; u++) {
    const key = await keyFor(db.db, `bench-${u}`, `bench-user-${u}`);
    const ids: string[] = [];
    for (let k = 0; k < 4; k++) {
      const res = await fetch(`${base}/archive`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ url: `${TARGET}/seed/${u}/${k}` }),
      });
      if (res.status !== 202) throw new Error(`seeding answered ${res.status}: ${await res.text()}`);
      ids.push(((await res.json()) as { id: string }).id);
    }
    callers.push({ key, ids });
  }
  await sql`update articles set title = 'Bench article ' || left(id::text, 8) || ' about web archiving',
    text_content = 'A page kept for the benchmark of the archive search'`.execute(db.db);
  return callers;
}

/** The four runs against one server: the baseline, then the three routes of the issue. */
async function measure(server: string, base: string, callers: Caller[]): Promise<void> {
  console.log(`${server} (${base})`);
  const who = (i: number) => callers[i % callers.length]!;
  const auth = (c: Caller) => ({ authorization: `Bearer ${c.key}` });
  const on = (r: string) => !args.routes || args.routes.split(',').includes(r);
  if (on('healthz')) await drive(server, 'GET /healthz (baseline)', base, () => ({ method: 'GET', path: '/healthz' }));
  const tag = `${server.replace(/\W+/g, '-')}-${++run}`;
  if (on('post'))
    await drive(server, 'POST /archive (new URL each)', base, (i) => ({
      method: 'POST',
      path: '/archive',
      headers: { ...auth(who(i)), 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${TARGET}/${tag}/${i}` }),
    }));
  if (on('get'))
    await drive(server, 'GET /archives/{id}', base, (i) => {
      const c = who(i);
      return { method: 'GET', path: `/archives/${c.ids[i % c.ids.length]}`, headers: auth(c) };
    });
  if (on('search'))
    await drive(server, 'GET /archives?q=', base, (i) => ({
      method: 'GET',
      path: '/archives?q=archiving&limit=20',
      headers: auth(who(i)),
    }));
}

/** With --profile: what makes a server process write its V8 CPU profile there (cpu-profile.mjs). */
function profileEnv(): Record<string, string> {
  if (!args.profile) return {};
  return {
    NODE_OPTIONS: `--import ${new URL('./cpu-profile.mjs', import.meta.url).pathname}`,
    HTBASE_CPU_PROFILE_DIR: args.profile,
  };
}

/** `npm start` as its own process (single-process mode), ready once /healthz answers. */
async function startEmbedded(databaseUrl: string, dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const fd = openSync(join(dir, 'embedded.log'), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', 'containers/standalone/main.ts'], {
    cwd: new URL('../../', import.meta.url).pathname,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl,
      HTBASE_DATA_DIR: join(dir, 'embedded'),
      API_KEYS_REQUIRED: 'true',
      RATE_LIMIT_PER_MINUTE: HIGH_LIMIT,
      READ_RATE_LIMIT_PER_MINUTE: HIGH_LIMIT,
      LOG_LEVEL: 'info',
      GEMINI_MODE: 'off',
      // No browser: the in-process workers fail each capture at launch instead of loading pages during the run.
      CHROME_PATH: join(dir, 'no-chromium'),
      ...profileEnv(),
    },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) {
      const gone = new Promise((ok) => child.once('exit', ok));
      child.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGKILL');
    }
  };
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(200)) {
    if (child.exitCode !== null) throw new Error(`the single-process server exited (${child.exitCode})`);
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { url, stop };
  }
  await stop();
  throw new Error('the single-process server was not ready within 90 s');
}

function printTable(): void {
  const baseline = new Map(rows.filter((r) => r.route.includes('healthz')).map((r) => [r.server, r.rps]));
  console.log(
    `\nbench:api, ${SECONDS} s per route, ${CONNECTIONS} connections, ${USERS} users; PostgreSQL 15 (no fsync)\n`,
  );
  const head = ['server', 'route', 'req/s', 'p50 ms', 'p99 ms', 'of /healthz', 'not 2xx', 'client CPU', 'statuses'];
  const body = rows.map((r) => [
    r.server,
    r.route,
    r.rps.toFixed(0),
    String(r.p50),
    String(r.p99),
    `${((100 * r.rps) / (baseline.get(r.server) ?? r.rps)).toFixed(0)}%`,
    String(r.failed),
    `${r.clientCpu.toFixed(0)}%`,
    r.statuses,
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  for (const line of [head, widths.map((w) => '-'.repeat(w)), ...body])
    console.log(line.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
  console.log('client CPU: the load generator (autocannon, this process) in % of one core of the two');
  const post = rows.filter((r) => r.route.startsWith('POST'));
  for (const r of post)
    console.log(
      `goal POST /archive >= 500 req/s, p99 < 50 ms on ${r.server}: ${r.rps >= 500 && r.p99 < 50 ? 'met' : 'not met'}`,
    );
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'htbase-bench-api-'));
  const services: Array<{ stop(): Promise<void> } | undefined> = [];
  let api: DeployableProcess | undefined;
  let embedded: { stop(): Promise<void> } | undefined;
  let db: DatabaseHandle | undefined;
  try {
    const projectId = 'htbase-bench';
    const [pg, redis, emu] = await Promise.all([startPostgres(), startRedis(), startPubSubEmulator({ projectId })]);
    services.push(pg, redis, emu);
    const pubsub = new PubSub({ projectId, apiEndpoint: emu.emulatorHost });
    // Pull subscriptions nobody pulls: the messages are kept (as in the cloud) but no worker loads a page.
    await ensureTopology(pubsub, { pushEndpoints: {} as never });
    await pubsub.close();
    const env = {
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: projectId,
      PUBSUB_EMULATOR_HOST: emu.emulatorHost,
      PUBSUB_PROJECT_ID: projectId,
      PUBSUB_ENABLED: 'true',
      DATABASE_URL: pg.databaseUrl,
      HTBASE_DATA_DIR: join(dir, 'data'),
      API_KEYS_REQUIRED: 'true',
      RATE_LIMIT_PER_MINUTE: HIGH_LIMIT,
      READ_RATE_LIMIT_PER_MINUTE: HIGH_LIMIT,
      LOG_LEVEL: 'info',
      ...profileEnv(),
    };
    const port = await freePort();
    const cloud = async (name: string, extra: Record<string, string>) => {
      await api?.stop(8000);
      api = await spawnDeployable({ name, kind: 'api', port, env: { ...env, ...extra }, dir });
      return api.url;
    };
    const wants = (s: string) => !args.only || args.only.split(',').includes(s);
    let callers: Caller[] | undefined;
    if (wants('redis')) {
      const base = await cloud('api-redis', { REDIS_URL: redis.url });
      db = await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 2 });
      callers = await seedCallers(db, base);
      await measure('topology, Redis limiter', base, callers);
    }
    if (wants('pg')) {
      const base = await cloud('api-pg', {});
      db ??= await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 2 });
      callers ??= await seedCallers(db, base);
      await measure('topology, PostgreSQL limiter', base, callers);
    }
    if (wants('vps')) {
      // One VPS (infra/compose): the API on the PostgreSQL job queue and limiter, no Pub/Sub, no Redis; nothing
      // consumes the queues, as no worker pulls the topology's subscriptions above. Served as compose runs it
      // (functions/api/server.ts), and under the Functions Framework as the cloud does, for comparison.
      const { PUBSUB_EMULATOR_HOST: _h, PUBSUB_PROJECT_ID: _p, PUBSUB_ENABLED: _e, ...rest } = env;
      db ??= await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 2 });
      await sql`create database vps`.execute(db.db);
      const vpsUrl = pg.databaseUrl.replace(/\/[^/]+$/, '/vps');
      let vpsCallers: Caller[] | undefined;
      for (const [server, ownServer] of [
        ['one VPS (server.ts), PostgreSQL queue and limiter', true],
        ['one VPS under the Functions Framework', false],
      ] as const) {
        await api?.stop(8000);
        api = await spawnDeployable({
          name: `api-vps${ownServer ? '-server' : ''}`,
          kind: 'api',
          ownServer,
          port,
          env: { ...rest, DATABASE_URL: vpsUrl, QUEUE: 'postgres', HTBASE_DATA_DIR: join(dir, 'vps') },
          dir,
        });
        if (!vpsCallers) {
          const vdb = await openDatabase({ databaseUrl: vpsUrl, maxConnections: 2 });
          try {
            vpsCallers = await seedCallers(vdb, api.url);
          } finally {
            await vdb.close();
          }
        }
        await measure(server, api.url, vpsCallers);
      }
    }
    await api?.stop(8000);
    api = undefined;
    if (wants('limiter')) {
      // Each limiter on its own, with nothing else on the servers: the CPU it costs them per hit.
      const ldb = await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 16 });
      const rc = connectRedis(redis.url);
      try {
        limiterCosts.push(
          await measureLimiter('postgres', createPgRateLimiter(ldb.db), { pid: pg.pid, withChildren: true }),
          await measureLimiter('redis', createRedisRateLimiter(rc), { pid: redis.pid, withChildren: false }),
        );
      } finally {
        rc.disconnect();
        await ldb.close();
      }
    }
    if (wants('single')) {
      db ??= await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 2 });
      await sql`create database single_process`.execute(db.db);
      const singleUrl = pg.databaseUrl.replace(/\/[^/]+$/, '/single_process');
      const e = await startEmbedded(singleUrl, dir);
      embedded = e;
      const sdb = await openDatabase({ databaseUrl: singleUrl, maxConnections: 2 });
      try {
        await measure('single process', e.url, await seedCallers(sdb, e.url));
      } finally {
        await sdb.close();
      }
    }
    printTable();
    if (limiterCosts.length) printLimiterCosts(limiterCosts);
  } finally {
    await embedded?.stop();
    await api?.stop(8000);
    await db?.close();
    await stopAll(services);
    if (args['keep-logs']) console.log(`logs kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();

// The Postgres RateLimiter across processes on a real PostgreSQL 15: four child processes, each its own
// instance and connection pool, hit one key at the same moment, and the limit holds exactly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';

const HITTER = fileURLToPath(new URL('./rate-limit-hitter.ts', import.meta.url));

let pgh: PostgresHandle;
let dbh: DatabaseHandle;
const children: ChildProcess[] = [];

before(async () => {
  pgh = await startPostgres();
  dbh = await openDatabase({ databaseUrl: pgh.databaseUrl }); // applies the migrations the children rely on
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill();
  await dbh?.close();
  await pgh?.stop();
});

interface Outcome {
  allowed: number;
  refused: number;
  retryAfter: number[];
}

/** Starts one hitter; resolves `ready` when it waits for "go", and `done` with its outcome. */
function startHitter(key: string, hits: number, limit: number) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', HITTER, pgh.databaseUrl, key, String(hits), String(limit)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
      timeout: 60_000,
    },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! });
  let onReady: () => void;
  const ready = new Promise<void>((r) => (onReady = r));
  const done = new Promise<Outcome>((resolve, reject) => {
    lines.on('line', (line) => (line === 'ready' ? onReady() : resolve(JSON.parse(line) as Outcome)));
    child.on('exit', (code) => reject(new Error(`hitter exited with ${code} before answering`)));
  });
  return { child, ready, done };
}

test('four processes hit one key at once: allowed count == limit, every refusal has a Retry-After', async () => {
  const hitters = [0, 1, 2, 3].map(() => startHitter('processes', 40, 50));
  await Promise.all(hitters.map((h) => h.ready));
  for (const h of hitters) h.child.stdin!.write('go\n');
  const outcomes = await Promise.all(hitters.map((h) => h.done));
  const allowed = outcomes.reduce((n, o) => n + o.allowed, 0);
  assert.equal(allowed, 50, `allowed per process: ${outcomes.map((o) => o.allowed).join(', ')}`);
  assert.equal(
    outcomes.reduce((n, o) => n + o.refused, 0),
    110,
  );
  for (const r of outcomes.flatMap((o) => o.retryAfter)) assert.ok(r >= 1 && r <= 60, `retryAfter ${r}`);
  const [row] = await dbh.db.selectFrom('rate_limits').selectAll().where('key', '=', 'processes').execute();
  assert.equal(row!.hits.length, 50);
});

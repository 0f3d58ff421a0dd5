// The rate limiters' own cost, for bench:api: hits/s and the server CPU each hit costs (PostgreSQL backends or
// redis-server, read from /proc), and from it the hit rate above which Memorystore is cheaper than Cloud SQL CPU.
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { RateLimiter } from '../../shared/core/ports.ts';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux Node runs on). */
const HZ = 100;

/** utime + stime (seconds) of `pid` and, if asked, of its children (PostgreSQL's backends). */
export function cpuSeconds(pid: number, withChildren: boolean): number {
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the command name (which may hold spaces): state ppid ... utime(14) stime(15).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(f[1]);
    if (Number(entry) === pid || (withChildren && ppid === pid)) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / HZ;
}

export interface LimiterCost {
  name: string;
  hitsPerSecond: number;
  /** Server CPU milliseconds per hit. */
  serverCpuMs: number;
}

/**
 * `hits` hits from `concurrency` callers over keys that each stay under a realistic limit (120 a minute, as
 * RATE_LIMIT_PER_MINUTE): every hit is allowed and each key's log stays as long as it is in production.
 */
export async function measureLimiter(
  name: string,
  limiter: RateLimiter,
  server: { pid: number; withChildren: boolean },
  hits = 20_000,
  concurrency = 16,
): Promise<LimiterCost> {
  const perKey = 100;
  const run = `${name}-${Date.now()}`;
  let next = 0;
  let refused = 0;
  const cpu0 = cpuSeconds(server.pid, server.withChildren);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < hits; i = next++) {
        const r = await limiter.hit(`bench:${run}:${Math.floor(i / perKey)}`, 120, 60);
        if (!r.allowed) refused++;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(server.pid, server.withChildren) - cpu0;
  if (refused) throw new Error(`${name}: ${refused} hits refused; the measurement would not be of allowed hits`);
  return { name, hitsPerSecond: hits / seconds, serverCpuMs: (cpu * 1000) / hits };
}

/*
 * Break-even. Memorystore Basic 1 GB: 1 GB × $0.049/GB-hour × 730 h = $35.77 a month. The same money buys Cloud SQL
 * CPU at Enterprise list prices (us-central1): one vCPU-hour $0.0413 plus the 0.9 GB of memory a vCPU needs at
 * least, 0.9 × $0.0070 = $0.0063, so $0.0476 a vCPU-hour, $34.75 a vCPU-month: $35.77 is 1.03 vCPU. Above the hit
 * rate whose limiter work fills 1.03 Cloud SQL vCPU, Redis is the cheaper place for the counts.
 */
export const REDIS_MONTHLY = 1 * 0.049 * 730;
export const SQL_VCPU_MONTHLY = (0.0413 + 0.9 * 0.007) * 730;

export function breakEvenHitsPerSecond(pg: LimiterCost): number {
  const vcpus = REDIS_MONTHLY / SQL_VCPU_MONTHLY;
  return (vcpus * 1000) / pg.serverCpuMs;
}

export function printLimiterCosts(costs: LimiterCost[]): void {
  console.log('\nrate limiter alone (20,000 allowed hits, 16 at once, keys at <= 100 hits a minute)\n');
  console.log('limiter     hits/s  server CPU per hit');
  for (const c of costs)
    console.log(`${c.name.padEnd(10)}  ${c.hitsPerSecond.toFixed(0).padStart(6)}  ${c.serverCpuMs.toFixed(3)} ms`);
  const pg = costs.find((c) => c.name === 'postgres');
  if (pg && pg.serverCpuMs > 0)
    console.log(
      `\nbreak-even: Memorystore ($${REDIS_MONTHLY.toFixed(2)}/month) costs what ${(REDIS_MONTHLY / SQL_VCPU_MONTHLY).toFixed(2)} ` +
        `Cloud SQL vCPU do; the PostgreSQL limiter fills that at ~${breakEvenHitsPerSecond(pg).toFixed(0)} hits/s ` +
        `(one hit per API request), sustained`,
    );
}

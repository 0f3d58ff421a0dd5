// The RateLimiter on Postgres (issue 18), so the cloud needs no Redis for it: the same sliding-window log as the
// Redis and memory adapters (a hit is allowed while fewer than `limit` allowed hits fall in the last window),
// decided in one atomic upsert per hit (hits arriving together share one round trip), with stale keys swept in
// small batches.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Clock, RateLimiter } from '../core/ports.ts';
import type { Database } from '../db/types.ts';
import { silentLogger, type Logger } from '../core/logger.ts';
import { groupCommit } from '../core/group-commit.ts';

export interface PgRateLimiterOptions {
  /** Every this many hits (per instance), one sweep of stale keys runs after the hit. Default 1000; 0 never. */
  sweepEvery?: number;
  /** Rows deleted per sweep at most, so a sweep stays short. Default 1000. */
  sweepBatch?: number;
  /**
   * Tests only. By default time is the database's clock (statement_timestamp), as the Redis limiter reads
   * Redis's TIME: instances with skewed clocks still agree on one window.
   */
  clock?: Clock;
  /** Told about a failed sweep (the hit it followed is still answered). */
  logger?: Logger;
}

export interface PgRateLimiter extends RateLimiter {
  /** Deletes up to `sweepBatch` keys whose every allowed hit has left its window; resolves with the count. */
  sweep(): Promise<number>;
}

/*
 * Why one row per key with its log in an int8[] rather than a row per hit or counting buckets:
 * - Exact, and the same answer as Redis (sliding log, refused hits not counted, Retry-After from the oldest
 *   hit that must leave). Weighted fixed-window buckets are an approximation that lets a burst through at a
 *   window edge or refuses too early.
 * - Atomic in one statement across instances: INSERT ... ON CONFLICT DO UPDATE locks the key's row and
 *   computes the new log from its latest committed version, so concurrent hits on one key serialise in
 *   Postgres (READ COMMITTED is enough). A row per hit would need a lock and a second statement, because
 *   one statement's snapshot cannot see hits committed while it waited for the lock.
 * - Cheap: the log holds at most `limit` allowed hits, pruned on every write (120 writes or 1200 reads a
 *   minute per principal are 1-10 KB), and the hits arriving together are one round trip (rate_limit_hits()).
 */

/** Epoch milliseconds: the caller's test clock, or the database's (one value for the whole statement). */
function nowMs(clock: Clock | undefined): RawBuilder<number> {
  return clock
    ? sql<number>`${clock.now().getTime()}::bigint`
    : sql<number>`floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint`;
}

interface HitRow {
  hit: number;
  hit_allowed: boolean;
  hit_retry_after_ms: number | string;
}

interface Hit {
  key: string;
  limit: number;
  windowMs: number;
}

type HitResult = { allowed: boolean; retryAfterSeconds: number };

export function createPgRateLimiter(db: Kysely<Database>, opts: PgRateLimiterOptions = {}): PgRateLimiter {
  const sweepEvery = opts.sweepEvery ?? 1000;
  const sweepBatch = opts.sweepBatch ?? 1000;
  const logger = opts.logger ?? silentLogger();
  let hits = 0;

  async function sweep(): Promise<number> {
    // SKIP LOCKED leaves a key alone while a hit holds it; FOR UPDATE rechecks expiry on the latest version,
    // so a key a concurrent hit just renewed is not deleted.
    const stale = db
      .selectFrom('rate_limits')
      .select('key')
      .where('expires_ms', '<=', nowMs(opts.clock))
      .limit(sweepBatch)
      .forUpdate()
      .skipLocked();
    const res = await db.deleteFrom('rate_limits').where('key', 'in', stale).executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  // Hits arriving together are decided in one round trip (rate_limit_hits(), migration 0011, the same upsert per
  // hit): under load the limiter costs the database one statement per batch rather than one per request.
  const decide = groupCommit<Hit, HitResult>(
    async (batch) => {
      const { rows } = await sql<HitRow>`select * from rate_limit_hits(
        ${batch.map((h) => h.key)}::text[],
        ${batch.map((h) => h.limit)}::int[],
        ${batch.map((h) => h.windowMs)}::bigint[],
        ${opts.clock ? opts.clock.now().getTime() : null}::bigint)`.execute(db);
      const byHit = new Map(rows.map((r) => [Number(r.hit), r]));
      const before = hits;
      hits += batch.length;
      if (sweepEvery > 0 && Math.floor(hits / sweepEvery) > Math.floor(before / sweepEvery)) {
        // Awaited, so the sweep is bounded by the same statement timeout and never outlives the limiter.
        await sweep().catch((err: unknown) => logger.warn({ err }, 'rate limit sweep failed'));
      }
      return batch.map((_, i) => {
        const row = byHit.get(i + 1)!;
        return row.hit_allowed
          ? { allowed: true, retryAfterSeconds: 0 }
          : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(row.hit_retry_after_ms) / 1000)) };
      });
    },
    { maxBatch: 256 },
  );

  function hit(key: string, limit: number, windowSeconds: number): Promise<HitResult> {
    return decide({ key, limit: Math.floor(limit), windowMs: Math.max(1, Math.round(windowSeconds * 1000)) });
  }

  return { hit, sweep };
}

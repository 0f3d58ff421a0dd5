// The RateLimiter on Postgres (issue 18), so the cloud needs no Redis for it: the same sliding-window log as the
// Redis and memory adapters (a hit is allowed while fewer than `limit` allowed hits fall in the last window),
// decided in one atomic upsert per hit, with stale keys swept in small batches.
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Clock, RateLimiter } from '../core/ports.ts';
import type { Database } from '../db/types.ts';
import { silentLogger, type Logger } from '../core/logger.ts';

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
 *   minute per principal are 1-10 KB), and a hit is one round trip.
 */

/** Epoch milliseconds: the caller's test clock, or the database's (one value for the whole statement). */
function nowMs(clock: Clock | undefined): RawBuilder<number> {
  return clock
    ? sql<number>`${clock.now().getTime()}::bigint`
    : sql<number>`floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint`;
}

interface HitRow {
  allowed: boolean;
  retry_after_ms: number | string;
}

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

  async function hit(key: string, limit: number, windowSeconds: number) {
    const lim = Math.floor(limit);
    const windowMs = Math.max(1, Math.round(windowSeconds * 1000));
    const now = nowMs(opts.clock);
    // The key's allowed hits still inside the window, oldest first; `r` is the locked, latest row.
    const kept = sql`ARRAY(SELECT h FROM unnest(r.hits) AS h WHERE h > ${now} - ${windowMs}::bigint ORDER BY h)`;
    const room = sql`cardinality(${kept}) < ${lim}::int`;
    const { rows } = await sql<HitRow>`
      INSERT INTO rate_limits AS r (key, hits, allowed, expires_ms)
      VALUES (
        ${key},
        CASE WHEN ${lim}::int > 0 THEN ARRAY[${now}] ELSE '{}'::bigint[] END,
        ${lim}::int > 0,
        ${now} + ${windowMs}::bigint
      )
      ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN ${room} THEN ${kept} || ${now} ELSE ${kept} END,
        allowed = ${room},
        expires_ms = CASE WHEN ${room} THEN GREATEST(r.expires_ms, ${now} + ${windowMs}::bigint) ELSE r.expires_ms END
      RETURNING allowed,
        CASE WHEN allowed THEN 0
          ELSE COALESCE(hits[cardinality(hits) - ${lim}::int + 1] + ${windowMs}::bigint - ${now}, ${windowMs}::bigint)
        END AS retry_after_ms`.execute(db);
    const row = rows[0]!;
    const result = row.allowed
      ? { allowed: true, retryAfterSeconds: 0 }
      : { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(Number(row.retry_after_ms) / 1000)) };
    if (sweepEvery > 0 && ++hits % sweepEvery === 0) {
      // Awaited, so the sweep is bounded by the same statement timeout and never outlives the limiter.
      await sweep().catch((err: unknown) => logger.warn({ err }, 'rate limit sweep failed'));
    }
    return result;
  }

  return { hit, sweep };
}

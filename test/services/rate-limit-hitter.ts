// Child process for test/services/rate-limit-processes.test.ts: one more instance of the Postgres RateLimiter,
// with its own connection pool. Says "ready", waits for "go" on stdin so every process fires at once, sends
// all its hits concurrently and prints one JSON line with the outcomes.
import { createInterface } from 'node:readline';
import { sql } from 'kysely';
import { openDatabase } from '../../shared/db/connect.ts';
import { createPgRateLimiter } from '../../shared/adapters/pg-rate-limiter.ts';

const [databaseUrl, key, hits, limit] = process.argv.slice(2);
const dbh = await openDatabase({ databaseUrl, migrate: false, maxConnections: 8 });
try {
  const rl = createPgRateLimiter(dbh.db);
  // Open every pooled connection before the race, so the race is between hits, not between connects.
  await Promise.all(Array.from({ length: 8 }, () => sql`SELECT pg_sleep(0.05)`.execute(dbh.db)));
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  for await (const line of lines) if (line.trim() === 'go') break;
  lines.close();
  const results = await Promise.all(Array.from({ length: Number(hits) }, () => rl.hit(key!, Number(limit), 60)));
  const allowed = results.filter((r) => r.allowed).length;
  const retryAfter = results.filter((r) => !r.allowed).map((r) => r.retryAfterSeconds);
  process.stdout.write(`${JSON.stringify({ allowed, refused: results.length - allowed, retryAfter })}\n`);
} finally {
  await dbh.close();
}

// The Postgres RateLimiter (shared/adapters/pg-rate-limiter.ts) on a real PostgreSQL 15 and on PGlite: the
// scenarios of the Redis and memory limiter tests (shared limit, Retry-After, sliding window, refused hits not
// counted), concurrent instances holding the limit exactly, and the sweep of stale keys.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createPgRateLimiter } from '../../shared/adapters/pg-rate-limiter.ts';

function manualClock(start: number) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function keysLike(dbh: DatabaseHandle, prefix: string): Promise<string[]> {
  const rows = await dbh.db.selectFrom('rate_limits').select('key').where('key', 'like', `${prefix}%`).execute();
  return rows.map((r) => r.key).sort();
}

/** The same scenarios on each database; `open` starts it, `close` stops it. */
function scenarios(name: string, open: () => Promise<{ dbh: DatabaseHandle; close(): Promise<void> }>) {
  describe(name, () => {
    let dbh: DatabaseHandle;
    let close: () => Promise<void>;
    before(async () => {
      ({ dbh, close } = await open());
    });
    after(async () => {
      await close?.();
    });

    test('two instances share one limit and report Retry-After (database clock)', async () => {
      const a = createPgRateLimiter(dbh.db);
      const b = createPgRateLimiter(dbh.db);
      const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hit('client-1', 6, 2)));
      assert.equal(results.filter((r) => r.allowed).length, 6);
      const refused = results.filter((r) => !r.allowed);
      assert.equal(refused.length, 4);
      for (const r of refused)
        assert.ok(r.retryAfterSeconds >= 1 && r.retryAfterSeconds <= 2, `retryAfter ${r.retryAfterSeconds}`);
      for (const r of results.filter((x) => x.allowed)) assert.equal(r.retryAfterSeconds, 0);
      assert.equal((await a.hit('client-2', 6, 2)).allowed, true, 'keys are independent');
      await sleep(2100);
      assert.equal((await b.hit('client-1', 6, 2)).allowed, true, 'allowed again once the window slid past');
    });

    test('`limit` hits per sliding window, then Retry-After until the oldest hit slides out', async () => {
      const clock = manualClock(Date.parse('2025-01-01T00:00:00Z'));
      const rl = createPgRateLimiter(dbh.db, { clock });
      for (let i = 0; i < 3; i++) {
        assert.deepEqual(await rl.hit('k', 3, 60), { allowed: true, retryAfterSeconds: 0 });
        clock.advance(10_000);
      }
      // Hits at 0 s, 10 s, 20 s; now 30 s: the first leaves the window at 60 s.
      assert.deepEqual(await rl.hit('k', 3, 60), { allowed: false, retryAfterSeconds: 30 });
      assert.deepEqual(await rl.hit('other', 3, 60), { allowed: true, retryAfterSeconds: 0 }, 'keys are independent');
      clock.advance(29_000);
      assert.equal((await rl.hit('k', 3, 60)).retryAfterSeconds, 1);
      clock.advance(1000);
      assert.equal((await rl.hit('k', 3, 60)).allowed, true, 'allowed once the oldest hit left the window');
      assert.equal((await rl.hit('k', 3, 60)).allowed, false, 'refused hits are not counted, but the new one is');
      // Now 60 s, hits at 10, 20, 60: the one at 10 s must leave, at 70 s.
      assert.deepEqual(await rl.hit('k', 3, 60), { allowed: false, retryAfterSeconds: 10 });
      clock.advance(250);
      assert.equal((await rl.hit('k', 3, 60)).retryAfterSeconds, 10, 'Retry-After rounds up to whole seconds');
    });

    test('fractional windows, and a lowered limit waits for enough hits to leave', async () => {
      const clock = manualClock(Date.parse('2025-02-01T00:00:00Z'));
      const rl = createPgRateLimiter(dbh.db, { clock });
      assert.equal((await rl.hit('frac', 1, 0.5)).allowed, true);
      clock.advance(499);
      assert.deepEqual(await rl.hit('frac', 1, 0.5), { allowed: false, retryAfterSeconds: 1 });
      clock.advance(1);
      assert.equal((await rl.hit('frac', 1, 0.5)).allowed, true, 'a hit exactly one window old has left it');
      for (let i = 0; i < 4; i++) {
        assert.equal((await rl.hit('lowered', 4, 60)).allowed, true);
        clock.advance(1000);
      }
      // Hits at 0-3 s, now 4 s, limit now 2: the hit at 2 s must leave too, at 62 s.
      assert.deepEqual(await rl.hit('lowered', 2, 60), { allowed: false, retryAfterSeconds: 58 });
      assert.deepEqual(await rl.hit('zero', 0, 60), { allowed: false, retryAfterSeconds: 60 }, 'limit 0 allows none');
    });

    test('four instances hitting one key at once: exactly `limit` are allowed', async () => {
      const limiters = [0, 1, 2, 3].map(() => createPgRateLimiter(dbh.db));
      const results = await Promise.all(Array.from({ length: 120 }, (_, i) => limiters[i % 4]!.hit('burst', 47, 60)));
      assert.equal(results.filter((r) => r.allowed).length, 47);
      for (const r of results.filter((x) => !x.allowed))
        assert.ok(r.retryAfterSeconds >= 1 && r.retryAfterSeconds <= 60, `retryAfter ${r.retryAfterSeconds}`);
      const [row] = await dbh.db.selectFrom('rate_limits').selectAll().where('key', '=', 'burst').execute();
      assert.equal(row!.hits.length, 47, 'the log keeps only the allowed hits');
    });

    test('two instances, many keys at once in opposite orders: exactly `limit` per key, no deadlock', async () => {
      // Hits arriving together are decided in one statement per instance (rate_limit_hits()); the two instances'
      // batches name the keys in opposite orders, which would deadlock if rows were locked in arrival order.
      const [a, b] = [createPgRateLimiter(dbh.db), createPgRateLimiter(dbh.db)];
      for (let burst = 0; burst < 5; burst++) {
        const keys = Array.from({ length: 12 }, (_, i) => `many:${burst}:${i}`);
        await Promise.all(keys.map((k) => a.hit(k, 7, 60))); // the rows exist: the bursts below lock them
        const calls: Array<{ key: string; result: Promise<{ allowed: boolean; retryAfterSeconds: number }> }> = [];
        for (let round = 0; round < 10; round++) {
          keys.forEach((key, i) => {
            const other = keys[keys.length - 1 - i]!;
            calls.push({ key, result: a.hit(key, 7, 60) }, { key: other, result: b.hit(other, 7, 60) });
          });
        }
        const settled = await Promise.all(calls.map(async (c) => ({ key: c.key, ...(await c.result) })));
        for (const key of keys) {
          const mine = settled.filter((r) => r.key === key);
          assert.equal(mine.length, 20);
          assert.equal(mine.filter((r) => r.allowed).length, 6, `${key}: the limit less the first hit allowed`);
          for (const r of mine.filter((x) => !x.allowed))
            assert.ok(r.retryAfterSeconds >= 1 && r.retryAfterSeconds <= 60, `${key}: retry ${r.retryAfterSeconds}`);
        }
      }
    });

    test('stale keys are swept, in batches and every N hits; live keys stay', async () => {
      // A clock before every other test's hits, so only this test's keys can be stale.
      const clock = manualClock(Date.parse('2024-01-01T00:00:00Z'));
      const rl = createPgRateLimiter(dbh.db, { clock, sweepEvery: 0, sweepBatch: 2 });
      for (const k of ['sw:a', 'sw:b', 'sw:c']) await rl.hit(k, 5, 10);
      await rl.hit('sw:refused', 0, 10); // a key that was only ever refused expires with its window too
      clock.advance(5000);
      await rl.hit('sw:c', 5, 10); // renews sw:c until 15 s
      clock.advance(6000);
      assert.equal(await rl.sweep(), 2, 'the batch bounds one sweep');
      assert.equal(await rl.sweep(), 1);
      assert.equal(await rl.sweep(), 0);
      assert.deepEqual(await keysLike(dbh, 'sw:'), ['sw:c']);
      assert.equal((await rl.hit('sw:a', 5, 10)).allowed, true, 'a swept key starts afresh');

      const auto = createPgRateLimiter(dbh.db, { clock, sweepEvery: 3 });
      clock.advance(20_000);
      await auto.hit('sw:live', 5, 60);
      await auto.hit('sw:live', 5, 60);
      assert.deepEqual(await keysLike(dbh, 'sw:'), ['sw:a', 'sw:c', 'sw:live'], 'no sweep before the third hit');
      await auto.hit('sw:live', 5, 60);
      assert.deepEqual(await keysLike(dbh, 'sw:'), ['sw:live'], 'the third hit swept the stale keys');
    });
  });
}

scenarios('PostgreSQL 15', async () => {
  const pgh: PostgresHandle = await startPostgres();
  const dbh = await openDatabase({ databaseUrl: pgh.databaseUrl });
  return {
    dbh,
    close: async () => {
      await dbh.close();
      await pgh.stop();
    },
  };
});

scenarios('PGlite', async () => {
  const dbh = await openDatabase({ memory: true });
  return { dbh, close: () => dbh.close() };
});

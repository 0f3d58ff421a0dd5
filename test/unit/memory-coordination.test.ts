// The embedded mode's in-memory RateLimiter and HostLimiter (shared/adapters/memory-coordination.ts):
// the same behaviour test/services/redis.test.ts checks on Redis, on a controllable clock where time matters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryHostLimiter, createMemoryRateLimiter } from '../../shared/adapters/memory-coordination.ts';

function manualClock(start = Date.parse('2025-01-01T00:00:00Z')) {
  let t = start;
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

test('rate limiter: `limit` hits per sliding window, then Retry-After until the oldest hit slides out', async () => {
  const clock = manualClock();
  const rl = createMemoryRateLimiter({ clock });
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
});

test('host limiter: at most maxPerHost at once per host, FIFO hand-off, hosts independent, case-insensitive', async () => {
  const hl = createMemoryHostLimiter({ maxPerHost: 2 });
  let active = 0;
  let peak = 0;
  const order: number[] = [];
  const work = async (i: number) => {
    const release = await hl.acquire(i % 2 ? 'Example.COM' : 'example.com');
    order.push(i);
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 15));
    active--;
    await release();
  };
  const other = await hl.acquire('other.org');
  await Promise.all(Array.from({ length: 8 }, (_, i) => work(i)));
  assert.equal(peak, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(hl.inUse('example.com'), 0);
  assert.equal(hl.inUse('other.org'), 1);
  await other();
  await other(); // releasing twice is harmless
  assert.equal(hl.inUse('other.org'), 0);
});

test('host limiter: an aborted wait rejects with the signal reason and leaves the queue', async () => {
  const hl = createMemoryHostLimiter({ maxPerHost: 1 });
  const held = await hl.acquire('a.example');
  const ac = new AbortController();
  const waiting = hl.acquire('a.example', ac.signal);
  setTimeout(() => ac.abort(new Error('deadline')), 20);
  await assert.rejects(waiting, /deadline/);
  await held();
  const next = await hl.acquire('a.example');
  assert.equal(hl.inUse('a.example'), 1, 'the aborted waiter did not take the released slot');
  await next();
  await assert.rejects(hl.acquire('a.example', AbortSignal.abort(new Error('already'))), /already/);
});

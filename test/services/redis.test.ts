// The Redis RateLimiter and HostLimiter (shared/adapters/redis.ts) against a real redis-server:
// limits shared by two instances (two connections), and host slots that outlive no crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { startRedis, type RedisHandle } from '../support/services.ts';
import { connectRedis, createRedisHostLimiter, createRedisRateLimiter } from '../../shared/adapters/redis.ts';

let srv: RedisHandle;
const clients: Redis[] = [];
const client = () => {
  const c = connectRedis(srv.url);
  clients.push(c);
  return c;
};

before(async () => {
  srv = await startRedis();
});
after(async () => {
  for (const c of clients) c.disconnect();
  await srv?.stop();
});

test('rate limiter: two instances share one limit and report Retry-After', async () => {
  const a = createRedisRateLimiter(client(), { keyPrefix: 't1:' });
  const b = createRedisRateLimiter(client(), { keyPrefix: 't1:' });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).hit('client-1', 6, 2)));
  assert.equal(results.filter((r) => r.allowed).length, 6);
  const refused = results.filter((r) => !r.allowed);
  assert.equal(refused.length, 4);
  for (const r of refused)
    assert.ok(r.retryAfterSeconds >= 1 && r.retryAfterSeconds <= 2, `retryAfter ${r.retryAfterSeconds}`);
  assert.equal((await a.hit('client-2', 6, 2)).allowed, true, 'keys are independent');
  await new Promise((r) => setTimeout(r, 2100));
  assert.equal((await b.hit('client-1', 6, 2)).allowed, true, 'allowed again once the window slid past');
});

test('host limiter: concurrency per host is capped across instances', async () => {
  const limiters = [0, 1, 2].map(() =>
    createRedisHostLimiter(client(), { keyPrefix: 't3:', maxPerHost: 2, leaseMs: 3000, pollMinMs: 10, pollMaxMs: 50 }),
  );
  let active = 0;
  let peak = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: 9 }, async (_, i) => {
      const release = await limiters[i % 3].acquire(i % 2 ? 'News.Example' : 'news.example');
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 40));
      active--;
      done++;
      await release();
    }),
  );
  assert.equal(done, 9);
  assert.equal(peak, 2);
  const other = await limiters[0].acquire('elsewhere.example');
  const same = await limiters[1].acquire('elsewhere.example');
  await Promise.all([other(), same()]);
});

test('host limiter: a holder that keeps working keeps its slot past the lease (heartbeat)', async () => {
  const hl = createRedisHostLimiter(client(), {
    keyPrefix: 't4:',
    maxPerHost: 1,
    leaseMs: 300,
    pollMinMs: 10,
    pollMaxMs: 30,
  });
  const release = await hl.acquire('slow.example');
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(new Error('still held')), 1000);
  await assert.rejects(hl.acquire('slow.example', ac.signal), /still held/);
  clearTimeout(t);
  await release();
  const again = await hl.acquire('slow.example', AbortSignal.timeout(1000));
  await again();
});

test('host limiter: a crashed worker cannot leak its slot: the lease runs out', async () => {
  const crashing = client();
  const dead = createRedisHostLimiter(crashing, { keyPrefix: 't5:', maxPerHost: 1, leaseMs: 400 });
  await dead.acquire('crash.example');
  crashing.disconnect(); // the process "dies": no release, no more heartbeats
  const live = createRedisHostLimiter(client(), {
    keyPrefix: 't5:',
    maxPerHost: 1,
    leaseMs: 400,
    pollMinMs: 20,
    pollMaxMs: 50,
  });
  const t0 = Date.now();
  const release = await live.acquire('crash.example', AbortSignal.timeout(3000));
  const waited = Date.now() - t0;
  assert.ok(waited >= 250 && waited < 1500, `slot came back after ${waited} ms`);
  await release();
});

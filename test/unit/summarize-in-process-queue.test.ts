// The embedded task queue keeps Cloud Tasks' promises: named dedup, dispatch rate, concurrency,
// retries with backoff, and a bounded number of attempts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createInProcessTaskQueue } from '../../functions/summarize/in-process-queue.ts';
import { silentLogger } from '../../shared/core/logger.ts';

test('fifty tasks at once respect the rate and the concurrency; a reused name is a duplicate', async () => {
  const RATE = 20;
  const starts: number[] = [];
  let running = 0;
  let peak = 0;
  const q = createInProcessTaskQueue({
    handler: async () => {
      starts.push(Date.now());
      running++;
      peak = Math.max(peak, running);
      await sleep(120);
      running--;
    },
    ratePerSecond: RATE,
    maxConcurrent: 2,
    maxAttempts: 3,
    logger: silentLogger(),
  });
  try {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => q.enqueue({ name: `t${i}`, payload: i })));
    assert.ok(results.every((r) => r === 'created'));
    assert.equal(await q.enqueue({ name: 't7', payload: 7 }), 'duplicate');
    await q.drain();
    assert.equal(starts.length, 50);
    for (let i = 0; i + RATE < starts.length; i++)
      assert.ok(starts[i + RATE]! - starts[i]! >= 1000 - 2, `over ${RATE}/s at ${i}`);
    assert.equal(peak, 2);
    assert.equal(q.stats.succeeded, 50);
  } finally {
    await q.close();
  }
});

test('a failing task is retried with backoff and dropped after maxAttempts', async () => {
  const seen: Array<{ name: string; attempt: number; at: number }> = [];
  const q = createInProcessTaskQueue({
    handler: async (payload, info) => {
      seen.push({ name: info.name, attempt: info.attempt, at: Date.now() });
      if (payload === 'flaky' && info.attempt < 2) throw new Error('transient');
      if (payload === 'broken') throw new Error('always');
    },
    ratePerSecond: 1000,
    maxConcurrent: 4,
    maxAttempts: 3,
    minBackoffMs: 40,
    logger: silentLogger(),
  });
  try {
    await q.enqueue({ name: 'flaky', payload: 'flaky' });
    await q.enqueue({ name: 'broken', payload: 'broken' });
    await q.drain();
    const flaky = seen.filter((s) => s.name === 'flaky');
    const broken = seen.filter((s) => s.name === 'broken');
    assert.deepEqual(
      flaky.map((s) => s.attempt),
      [1, 2],
    );
    assert.deepEqual(
      broken.map((s) => s.attempt),
      [1, 2, 3],
    );
    // Exponential backoff: 40 ms, then 80 ms.
    assert.ok(broken[1]!.at - broken[0]!.at >= 38);
    assert.ok(broken[2]!.at - broken[1]!.at >= 78);
    assert.equal(q.stats.dropped, 1);
    assert.equal(q.stats.succeeded, 1);
  } finally {
    await q.close();
  }
});

test('close drops what is queued, waits for what runs, and refuses new tasks', async () => {
  let done = 0;
  const q = createInProcessTaskQueue({
    handler: async () => {
      await sleep(50);
      done++;
    },
    ratePerSecond: 2,
    maxConcurrent: 1,
    maxAttempts: 1,
    logger: silentLogger(),
  });
  for (let i = 0; i < 5; i++) await q.enqueue({ name: `c${i}`, payload: i });
  await sleep(10);
  await q.close();
  assert.equal(done, 1);
  await assert.rejects(q.enqueue({ name: 'late', payload: 0 }));
  await q.drain();
});

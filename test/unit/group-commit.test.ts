// Group commit (shared/core/group-commit.ts), the batching behind POST /archive's snapshots, the Postgres limiter
// and the Postgres job queue's publishes: a lone call goes at once, calls arriving while the slots are taken go
// together, `fits` holds an item back for a later batch, and each caller gets its own outcome.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { groupCommit } from '../../shared/core/group-commit.ts';

/** A run whose batches finish when the test says so. */
function controlledRun<T>() {
  const batches: T[][] = [];
  const finish: Array<() => void> = [];
  const run = async (batch: T[]) => {
    batches.push(batch);
    await new Promise<void>((resolve) => finish.push(resolve));
    return batch.map((x) => `done ${String(x)}`);
  };
  return { batches, finish, run };
}

const tick = () => new Promise((r) => setImmediate(r));

test('a lone call goes at once; calls made while both slots are taken go together in the next batch', async () => {
  const c = controlledRun<number>();
  const call = groupCommit(c.run, { maxInFlight: 2 });
  const first = call(1);
  await tick();
  assert.deepEqual(c.batches, [[1]], 'the first call did not wait for company');
  const second = call(2);
  await tick();
  const rest = [3, 4, 5].map((n) => call(n));
  await tick();
  assert.deepEqual(c.batches, [[1], [2]], 'two batches in flight, the rest wait');
  c.finish[0]!();
  assert.equal(await first, 'done 1');
  await tick();
  assert.deepEqual(c.batches[2], [3, 4, 5], 'the waiting calls went in one batch');
  c.finish[1]!();
  c.finish[2]!();
  assert.deepEqual(await Promise.all([second, ...rest]), ['done 2', 'done 3', 'done 4', 'done 5']);
  await tick();
  assert.equal(call.busy(), false, 'nothing left running or waiting');
});

test('calls of one tick share a batch, up to maxBatch', async () => {
  const sizes: number[] = [];
  const call = groupCommit(async (b: number[]) => b.map((n) => n * 2), { maxBatch: 4, onBatch: (n) => sizes.push(n) });
  const out = await Promise.all(Array.from({ length: 10 }, (_, i) => call(i)));
  assert.deepEqual(out, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  assert.deepEqual(sizes, [4, 4, 2]);
});

test('an item that does not fit waits for a later batch and keeps its place', async () => {
  const batches: string[][] = [];
  const call = groupCommit(
    async (b: string[]) => {
      batches.push(b);
      return b;
    },
    { maxInFlight: 1, fits: (item, batch) => !batch.includes(item) },
  );
  await Promise.all(['a', 'b', 'a', 'c', 'a', 'b'].map((x) => call(x)));
  assert.deepEqual(batches, [['a', 'b', 'c'], ['a', 'b'], ['a']]);
});

test('a failed batch rejects its own calls only; an item can carry its own outcome', async () => {
  const call = groupCommit(
    async (b: number[]) => {
      if (b.includes(13)) throw new Error('unlucky batch');
      return b.map((n) => (n % 2 ? Promise.reject(new Error(`odd ${n}`)) : n));
    },
    { maxBatch: 2 },
  );
  const results = await Promise.allSettled([call(13), call(1), call(2), call(4)]);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    ['unlucky batch', 'unlucky batch', 2, 4],
  );
  const own = await Promise.allSettled([call(3), call(6)]);
  assert.equal(own[0]!.status === 'rejected' && (own[0].reason as Error).message, 'odd 3');
  assert.deepEqual(own[1], { status: 'fulfilled', value: 6 });
});

test('a slot is held until every item of its batch has its outcome', async () => {
  let releaseOwn!: (v: string) => void;
  const own = new Promise<string>((r) => (releaseOwn = r));
  const batches: string[][] = [];
  const call = groupCommit(
    async (b: string[]) => {
      batches.push(b);
      return b.map((x) => (x === 'slow' ? own : x));
    },
    { maxInFlight: 1 },
  );
  const slow = call('slow');
  await tick();
  const next = call('next');
  await tick();
  assert.deepEqual(batches, [['slow']], 'the next batch waits while an item of the first is still pending');
  assert.equal(call.busy(), true);
  releaseOwn('slow done');
  assert.equal(await slow, 'slow done');
  assert.equal(await next, 'next');
  assert.deepEqual(batches, [['slow'], ['next']]);
});

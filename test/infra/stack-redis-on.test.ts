// Mocked deployment with `htbase:redis` on: Memorystore, its REDIS_URL secret, the grants to read it, the Redis
// port for capture workers, and REDIS_URL given to exactly the deployables that limit (API and the two workers).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { cfg, deploy, secretEnvOf, service, fn } from './stack-fixture.ts';
import { captureDataPorts, memorystores, redisConsumers, redisSecretGrants, redisSecrets } from './redis-facts.ts';

before(async () => {
  await deploy();
});

describe('htbase:redis on', () => {
  test('one Memorystore instance of the configured size and its REDIS_URL secret', () => {
    assert.equal(cfg.redis.enabled, true);
    const [redis, ...more] = memorystores();
    assert.equal(more.length, 0);
    assert.equal(redis!.inputs.memorySizeGb, cfg.redis.memoryGb);
    assert.equal(redis!.inputs.tier, cfg.redis.tier);
    assert.deepEqual(
      redisSecrets().map((r) => r.inputs.secretId),
      ['htbase-redis-url'],
    );
  });

  test('REDIS_URL comes from Secret Manager to the API and both workers, readable by exactly them', () => {
    assert.deepEqual(redisConsumers(), ['htbase-api', 'htbase-browser', 'htbase-monolith']);
    for (const r of [fn('api'), service('browser'), service('monolith')])
      assert.match(secretEnvOf(r).REDIS_URL!, /htbase-redis-url$/);
    assert.deepEqual(
      redisSecretGrants()
        .map((g) => g.inputs.member)
        .sort(),
      ['api', 'browser', 'monolith'].map((k) => `serviceAccount:htbase-${k}@${cfg.project}.iam.gserviceaccount.com`),
    );
  });

  test('capture workers may open Postgres and Redis on the managed-services range', () => {
    assert.deepEqual(captureDataPorts(), ['5432', '6379']);
  });
});

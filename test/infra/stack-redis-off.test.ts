// Mocked deployment with `htbase:redis` at its default (off, issue 18): no Memorystore, no Redis secret, grant
// or setting reaches any deployable, capture workers may open only Postgres, and Cloud SQL keeps its private IP.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { z } from 'zod';
import { loadConfig } from '../../shared/core/config.ts';
import { BrowserWorkerConfig } from '../../containers/browser/config.ts';
import { MonolithWorkerConfig } from '../../containers/monolith/config.ts';
import { CloudApiConfig } from '../../functions/api/config.ts';
import { SummarizeConfig } from '../../functions/summarize/config.ts';
import { SweepConfig } from '../../functions/sweep/config.ts';
import { SyncConfig } from '../../functions/sync/config.ts';
import { one, ofType, PROJECT, settle } from './mock-cloud.ts';
import {
  cfg as fullCfg,
  createStack,
  defaults,
  envOf,
  fn,
  GCP,
  secretEnvOf,
  service,
  validate,
} from './stack-fixture.ts';
import {
  captureDataPorts,
  deployables,
  memorystores,
  redisConsumers,
  redisMentions,
  redisSecretGrants,
  redisSecrets,
} from './redis-facts.ts';

const { redisConfig, StackConfigError } = await import('../../infra/config.ts');

// The shared fixture turns Redis on; this one keeps the default of a new stack.
const cfg = validate({ ...fullCfg, redis: defaults(PROJECT).redis });

before(async () => {
  createStack(cfg, { geminiApiKey: 'AIza-test-key' });
  await settle();
});

describe('htbase:redis is off by default', () => {
  test('a new stack has Redis off; true, false and the object form read as expected; nonsense is refused', () => {
    assert.equal(cfg.redis.enabled, false);
    const base = defaults(PROJECT).redis;
    assert.deepEqual(redisConfig(undefined, base), base);
    assert.equal(redisConfig(true, base).enabled, true);
    assert.equal(redisConfig(false, base).enabled, false);
    // A stack from before issue 18 sets sizes and had Memorystore: it keeps it.
    assert.deepEqual(redisConfig({ memoryGb: 5, tier: 'STANDARD_HA' }, base), {
      enabled: true,
      memoryGb: 5,
      tier: 'STANDARD_HA',
    });
    assert.equal(redisConfig({ enabled: false, memoryGb: 5 }, base).enabled, false);
    assert.throws(() => redisConfig('yes', base), StackConfigError);
    assert.throws(() => redisConfig({ enabled: 'yes' }, base), StackConfigError);
    assert.throws(() => validate({ ...fullCfg, redis: { enabled: true, memoryGb: 0, tier: 'BASIC' } }), /memoryGb/);
  });

  test('no Memorystore instance, no REDIS_URL secret and no grant on one', () => {
    assert.deepEqual(memorystores(), []);
    assert.deepEqual(redisSecrets(), []);
    assert.deepEqual(redisSecretGrants(), []);
  });

  test('no deployable gets a Redis setting, and nothing else in the stack names Redis', () => {
    assert.equal(deployables().length, 7);
    assert.deepEqual(redisConsumers(), []);
    assert.deepEqual(redisMentions(), []);
  });

  test('capture workers may open only Postgres on the managed-services range', () => {
    assert.deepEqual(captureDataPorts(), ['5432']);
  });

  test('Cloud SQL stays on a private IP: the peering, the subnet and Direct VPC egress remain', () => {
    const sql = one(GCP('sql/databaseInstance:DatabaseInstance'), () => true);
    assert.equal(sql.inputs.settings.ipConfiguration.ipv4Enabled, false);
    assert.equal(sql.inputs.settings.ipConfiguration.privateNetwork, `projects/${PROJECT}/global/networks/htbase-vpc`);
    assert.equal(ofType(GCP('servicenetworking/connection:Connection')).length, 1);
    assert.equal(ofType(GCP('compute/subnetwork:Subnetwork')).length, 1);
    for (const r of deployables()) {
      const vpc = r.type.includes('cloudrunv2') ? r.inputs.template.vpcAccess : r.inputs.serviceConfig;
      assert.ok(JSON.stringify(vpc).includes('htbase-run'), `${r.inputs.name} lost its VPC egress`);
      assert.ok('DATABASE_URL' in secretEnvOf(r), `${r.inputs.name} lost DATABASE_URL`);
    }
  });

  // Without REDIS_URL the API must still start: its rate limiter counts in Postgres (shared/adapters/deps.ts).
  const DEPLOYABLES: Array<[string, () => ReturnType<typeof fn>, z.ZodObject]> = [
    ['api', () => fn('api'), CloudApiConfig],
    ['summarize', () => fn('summarize'), SummarizeConfig],
    ['summary-task', () => fn('summary-task'), SummarizeConfig],
    ['sync', () => fn('sync'), SyncConfig],
    ['sweep', () => fn('sweep'), SweepConfig],
    ['browser', () => service('browser'), BrowserWorkerConfig],
    ['monolith', () => service('monolith'), MonolithWorkerConfig],
  ];
  for (const [name, resource, schema] of DEPLOYABLES) {
    test(`${name}: its environment without Redis still passes its own schema`, () => {
      const r = resource();
      const secrets = Object.fromEntries(
        Object.keys(secretEnvOf(r)).map((k) => [k, k === 'DATABASE_URL' ? 'postgres://h:p@10.99.0.3/h' : 'x']),
      );
      const env = { ...envOf(r), ...secrets };
      assert.equal(env.REDIS_URL, undefined);
      assert.doesNotThrow(() => loadConfig(schema, env));
    });
  }
});

// Redis is optional in the cloud (issue 18): two API instances built by the shared dependency builder with a
// DATABASE_URL and no REDIS_URL share their rate limits through PostgreSQL 15, exactly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type PostgresHandle } from '../support/services.ts';
import { tempDir } from '../support/embedded.ts';
import { buildCloudDeps, type CloudDeps } from '../../shared/adapters/deps.ts';
import { BaseConfig, loadConfig } from '../../shared/core/config.ts';
import { silentLogger } from '../../shared/core/logger.ts';

let pg: PostgresHandle;
let dir: Awaited<ReturnType<typeof tempDir>>;
const instances: CloudDeps[] = [];

before(async () => {
  pg = await startPostgres();
  dir = await tempDir();
  const config = loadConfig(BaseConfig, {
    DATABASE_URL: pg.databaseUrl,
    HTBASE_DATA_DIR: dir.path,
    GOOGLE_CLOUD_PROJECT: 'htbase-test',
  });
  for (let i = 0; i < 2; i++) instances.push(await buildCloudDeps(config, silentLogger()));
});
after(async () => {
  for (const d of instances) await d.close();
  await pg?.stop();
  await dir?.remove();
});

test('without REDIS_URL the limit is counted in the database, across instances', async () => {
  assert.equal(instances[0]!.redis, null);
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => instances[i % 2]!.rateLimiter.hit('api:w:user:someone', 4, 60)),
  );
  assert.equal(results.filter((r) => r.allowed).length, 4, 'exactly the limit, whichever instance was asked');
  const refused = results.find((r) => !r.allowed)!;
  assert.ok(refused.retryAfterSeconds > 0 && refused.retryAfterSeconds <= 60);
  const rows = await instances[1]!.db.db.selectFrom('rate_limits').selectAll().execute();
  assert.equal(rows.length, 1, 'the count lives in the rate_limits table');
});

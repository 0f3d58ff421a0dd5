// One-VPS entry point of the sweeper (QUEUE=postgres): runs sweepOnce every SWEEP_INTERVAL_SECONDS, republishing
// stuck artifacts on the Postgres job queue (Cloud Scheduler's role), and answers /healthz on $PORT.
import { z } from 'zod';
import { BaseConfig, ConfigError, int, loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps } from '../../shared/adapters/deps.ts';
import { startSweeper } from '../../shared/jobs/sweeper.ts';
import { startQueueProcess } from '../../shared/jobs/queue-process.ts';
import { ImportConfig } from '../../shared/imports/config.ts';
import { importQueuerDeps, startImportQueuer } from '../../shared/imports/queuer.ts';

const VpsSweepConfig = BaseConfig.extend({
  PORT: int(8080),
  HOST: z.string().default('0.0.0.0'),
  SWEEP_INTERVAL_SECONDS: int(60, 1),
  /** Claims after which a stuck artifact is failed with `stuck` instead of republished. */
  SWEEP_MAX_ATTEMPTS: int(7, 1),
  ...ImportConfig.shape,
}).superRefine((c, ctx) => {
  if (c.QUEUE !== 'postgres')
    ctx.addIssue({ code: 'custom', path: ['QUEUE'], message: 'this entry point runs on QUEUE=postgres only' });
});

let config;
try {
  config = loadConfig(VpsSweepConfig, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const logger = createLogger({ component: 'sweep', level: config.LOG_LEVEL });
const deps = await buildCloudDeps(config, logger, { dbPoolSize: 2, coordination: false });
const sweeper = startSweeper(
  {
    db: deps.db.db,
    publisher: deps.publisher,
    logger,
    leaseSeconds: config.LEASE_SECONDS,
    maxAttempts: config.SWEEP_MAX_ATTEMPTS,
  },
  config.SWEEP_INTERVAL_SECONDS * 1000,
);
// Imports drain from their table at a bounded rate, here as in the single process (shared/imports/queuer.ts).
const importQueuer = startImportQueuer(importQueuerDeps(config, { db: deps.db.db, publisher: deps.publisher, logger }));
await startQueueProcess({
  port: config.PORT,
  host: config.HOST,
  logger,
  health: async () => ({ intervalSeconds: config.SWEEP_INTERVAL_SECONDS }),
  close: async () => {
    await sweeper.stop();
    await importQueuer.stop();
    await deps.close();
  },
});
logger.info({ port: config.PORT, intervalSeconds: config.SWEEP_INTERVAL_SECONDS }, 'sweeper running');

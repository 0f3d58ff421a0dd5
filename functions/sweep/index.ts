// Functions Framework entry point of the stuck-work sweeper (`--target=sweep`): Cloud Scheduler calls it
// with an OIDC token; it republishes artifacts pending or running past their lease (shared/jobs/sweeper.ts).
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps } from '../../shared/adapters/deps.ts';
import { pushVerifierFromConfig } from '../../shared/auth/oidc.ts';
import { sweepOnce } from '../../shared/jobs/sweeper.ts';
import { importQueuerDeps, queueImportsOnce } from '../../shared/imports/queuer.ts';
import { createSweepHandler } from './app.ts';
import { SweepConfig } from './config.ts';

const config = loadConfig(SweepConfig, process.env);
const logger = createLogger({ component: 'sweep', level: config.LOG_LEVEL });
const verifier = pushVerifierFromConfig(
  {
    verify: config.SWEEP_VERIFY_OIDC,
    audience: config.SWEEP_AUDIENCE,
    serviceAccount: config.SWEEP_INVOKER_SA,
    jwksUrl: config.OIDC_JWKS_URL,
    names: { verify: 'SWEEP_VERIFY_OIDC', audience: 'SWEEP_AUDIENCE', serviceAccount: 'SWEEP_INVOKER_SA' },
    offReason: 'only for local runs',
  },
  logger,
);
const deps = await buildCloudDeps(config, logger, { dbPoolSize: 2, coordination: false });

const importDeps = importQueuerDeps(config, { db: deps.db.db, publisher: deps.publisher, logger });

http(
  'sweep',
  createSweepHandler({
    verifier,
    logger,
    sweep: async () => {
      const swept = await sweepOnce({
        db: deps.db.db,
        publisher: deps.publisher,
        logger,
        leaseSeconds: config.LEASE_SECONDS,
        maxAttempts: config.SWEEP_MAX_ATTEMPTS,
      });
      // No process stays up in the cloud to drain imports: each scheduled run queues the lines the rate allows
      // until the next one (the bounds per host and in flight hold as in the single process).
      const imports = await queueImportsOnce(importDeps, config.IMPORT_RATE_PER_SECOND * config.SWEEP_IMPORT_SECONDS);
      return { ...swept, imports };
    },
  }),
);

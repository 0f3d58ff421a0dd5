// Functions Framework entry point of the stuck-work sweeper (`--target=sweep`): Cloud Scheduler calls it
// with an OIDC token; it republishes artifacts pending or running past their lease (shared/jobs/sweeper.ts).
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps } from '../../shared/adapters/deps.ts';
import { pushVerifierFromConfig } from '../../shared/auth/oidc.ts';
import { sweepOnce } from '../../shared/jobs/sweeper.ts';
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

http(
  'sweep',
  createSweepHandler({
    verifier,
    logger,
    sweep: () =>
      sweepOnce({
        db: deps.db.db,
        publisher: deps.publisher,
        logger,
        leaseSeconds: config.LEASE_SECONDS,
        maxAttempts: config.SWEEP_MAX_ATTEMPTS,
      }),
  }),
);

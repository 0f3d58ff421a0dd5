// Functions Framework entry point of the stuck-work sweeper (`--target=sweep`): Cloud Scheduler calls it
// with an OIDC token; it republishes artifacts pending or running past their lease (shared/sweeper.ts).
import { http } from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';
import { loadConfig } from '../../shared/config.ts';
import { createLogger } from '../../shared/logger.ts';
import { openDatabase } from '../../shared/db/connect.ts';
import { createPubSubPublisher } from '../../shared/adapters/pubsub.ts';
import { createPushVerifier } from '../../shared/auth/oidc.ts';
import { sweepOnce } from '../../shared/sweeper.ts';
import { createSweepHandler, SweepConfig } from './app.ts';

const config = loadConfig(SweepConfig, process.env);
const logger = createLogger({ component: 'sweep', level: config.LOG_LEVEL });
let verifier = null;
if (config.SWEEP_VERIFY_OIDC) {
  if (!config.SWEEP_AUDIENCE || !config.SWEEP_INVOKER_SA) {
    throw new Error('SWEEP_VERIFY_OIDC is on: SWEEP_AUDIENCE and SWEEP_INVOKER_SA are required (set SWEEP_VERIFY_OIDC=false only locally)');
  }
  verifier = createPushVerifier({ audience: config.SWEEP_AUDIENCE, serviceAccountEmail: config.SWEEP_INVOKER_SA, jwksUrl: config.OIDC_JWKS_URL });
} else {
  logger.warn({}, 'sweep token verification is OFF (SWEEP_VERIFY_OIDC=false): only for local runs');
}
const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.HTBASE_DATA_DIR, maxConnections: 2 });
const publisher = createPubSubPublisher({ pubsub: new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT }), logger });

http(
  'sweep',
  createSweepHandler({
    verifier,
    logger,
    sweep: () => sweepOnce({ db: db.db, publisher, logger, leaseSeconds: config.LEASE_SECONDS, maxAttempts: config.SWEEP_MAX_ATTEMPTS }),
  }),
);

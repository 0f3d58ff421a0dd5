// `npm run firestore:reconcile`: rebuilds the whole Firestore replica from Postgres (after an outage,
// a restore, or a new replica). Safe to run at any time: older versions never overwrite newer ones.
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps } from '../../shared/adapters/deps.ts';
import { SyncConfig } from './config.ts';
import { createSync } from './sync.ts';

const config = loadConfig(SyncConfig, process.env);
const logger = createLogger({ component: 'reconcile', level: config.LOG_LEVEL });
const deps = await buildCloudDeps(config, logger, { coordination: false });
try {
  const r = await createSync({ db: deps.db.db, replica: deps.replica(), logger }).reconcileAll();
  logger.info(r, 'replica reconciled');
  process.stdout.write(`reconciled: ${r.written} written, ${r.stale} already current\n`);
} finally {
  await deps.close();
}

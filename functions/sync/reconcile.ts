// `npm run firestore:reconcile`: rebuilds the whole Firestore replica from Postgres (after an outage,
// a restore, or a new replica). Safe to run at any time: older versions never overwrite newer ones.
import { Firestore } from '@google-cloud/firestore';
import { z } from 'zod';
import { BaseConfig, loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { openDatabase } from '../../shared/db/connect.ts';
import { createFirestoreReplica } from '../../shared/adapters/firestore.ts';
import { createSync } from './sync.ts';

const config = loadConfig(BaseConfig.extend({ FIRESTORE_DATABASE: z.string().default('(default)') }), process.env);
const logger = createLogger({ component: 'reconcile', level: config.LOG_LEVEL });
const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.HTBASE_DATA_DIR });
const firestore = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, databaseId: config.FIRESTORE_DATABASE });
try {
  const r = await createSync({
    db: db.db,
    replica: createFirestoreReplica({ firestore, logger }),
    logger,
  }).reconcileAll();
  logger.info(r, 'replica reconciled');
  process.stdout.write(`reconciled: ${r.written} written, ${r.stale} already current\n`);
} finally {
  await db.close();
  await firestore.terminate();
}

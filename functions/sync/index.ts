// Functions Framework entry point of the Firestore sync (`--target=sync`): article-changed arrives as a
// Pub/Sub push body or as the CloudEvent of a Pub/Sub trigger (same `{message, subscription}` data).
import { http } from '@google-cloud/functions-framework';
import { Firestore } from '@google-cloud/firestore';
import { BaseConfig, loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { openDatabase } from '../../shared/db/connect.ts';
import { createFirestoreReplica } from '../../shared/adapters/firestore.ts';
import { ArticleChangedV1, BadMessage, decodePush } from '../../shared/core/messages.ts';
import { createSync } from './sync.ts';
import { z } from 'zod';

const config = loadConfig(BaseConfig.extend({ FIRESTORE_DATABASE: z.string().default('(default)') }), process.env);
const logger = createLogger({ component: 'sync', level: config.LOG_LEVEL });
const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.HTBASE_DATA_DIR, maxConnections: 3 });
const firestore = new Firestore({ projectId: config.GOOGLE_CLOUD_PROJECT, databaseId: config.FIRESTORE_DATABASE });
const sync = createSync({ db: db.db, replica: createFirestoreReplica({ firestore, logger }), logger });

http('sync', async (req, res) => {
  let ev;
  try {
    ev = decodePush(ArticleChangedV1, req.body).data;
  } catch (err) {
    if (err instanceof BadMessage) {
      logger.error({ err }, 'malformed article-changed message');
      res.status(400).json({ error: err.message }); // retried, then dead-lettered
      return;
    }
    throw err;
  }
  try {
    const outcome = await sync.apply(ev);
    res.status(200).json({ outcome });
  } catch (err) {
    logger.error({ err, articleId: ev.articleId }, 'replica write failed');
    res.status(500).json({ error: 'replica write failed' });
  }
});

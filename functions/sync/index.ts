// Functions Framework entry point of the Firestore sync (`--target=sync`): article-changed arrives as a
// Pub/Sub push body or as the CloudEvent of a Pub/Sub trigger (same `{message, subscription}` data).
import { http } from '@google-cloud/functions-framework';
import { loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps } from '../../shared/adapters/deps.ts';
import { ArticleChangedV1, BadMessage, decodePush } from '../../shared/core/messages.ts';
import { SyncConfig } from './config.ts';
import { createSync } from './sync.ts';

const config = loadConfig(SyncConfig, process.env);
const logger = createLogger({ component: 'sync', level: config.LOG_LEVEL });
const deps = await buildCloudDeps(config, logger, { dbPoolSize: 3, coordination: false });
const sync = createSync({ db: deps.db.db, replica: deps.replica(), logger });

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

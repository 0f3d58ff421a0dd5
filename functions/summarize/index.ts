// Functions Framework entry point of functions/summarize: `summarize` takes Eventarc's storage
// object-finalized CloudEvent and dispatches a Cloud Tasks task; `summarizeTask` is that task's HTTP target.
// Config is parsed at start-up; clients are built on the first invocation and reused.
import * as ff from '@google-cloud/functions-framework';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import { openDatabase } from '../../shared/db/connect.ts';
import { createGcsBlobStore } from '../../shared/adapters/gcs.ts';
import { createPubSubPublisher } from '../../shared/adapters/pubsub.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { createSummarizeHandlers, type SummarizeHandlers } from './app.ts';
import { createCloudTasksQueue } from './cloud-tasks.ts';
import { createSummarizers, loadSummarizeConfig } from './config.ts';
import { createSummarizeService } from './service.ts';

const cfg = loadSummarizeConfig(process.env);
const logger = createLogger({ level: cfg.LOG_LEVEL, component: 'summarize' });
if (!cfg.ARTIFACTS_BUCKET) throw new Error('ARTIFACTS_BUCKET is required');
const projectId = cfg.GOOGLE_CLOUD_PROJECT!;

let ready: Promise<SummarizeHandlers> | null = null;

async function build(): Promise<SummarizeHandlers> {
  const database = await openDatabase({
    databaseUrl: cfg.DATABASE_URL,
    dataDir: cfg.HTBASE_DATA_DIR,
    maxConnections: 4,
  });
  const storage = new Storage({
    projectId,
    ...(cfg.STORAGE_API_ENDPOINT ? { apiEndpoint: cfg.STORAGE_API_ENDPOINT } : {}),
  });
  const blobs = createGcsBlobStore({ storage, bucket: cfg.ARTIFACTS_BUCKET!, logger });
  const publisher = createPubSubPublisher({ pubsub: new PubSub({ projectId }), logger });
  let client: CloudTasksClient;
  if (cfg.CLOUD_TASKS_API_ENDPOINT) {
    // A local REST endpoint (tests, development) takes no credentials.
    const [host, port] = cfg.CLOUD_TASKS_API_ENDPOINT.split(':');
    client = new CloudTasksClient({
      fallback: true,
      apiEndpoint: host,
      port: Number(port),
      protocol: 'http',
      authClient: new PassThroughClient(),
      projectId,
    } as unknown as ConstructorParameters<typeof CloudTasksClient>[0]);
  } else {
    client = new CloudTasksClient({ projectId });
  }
  const tasks = createCloudTasksQueue({
    client,
    project: projectId,
    location: cfg.CLOUD_TASKS_LOCATION,
    queue: cfg.CLOUD_TASKS_QUEUE,
    handlerUrl: cfg.SUMMARY_TASK_URL,
    serviceAccountEmail: cfg.SUMMARY_TASK_SERVICE_ACCOUNT,
    logger,
  });
  const { summarizer, fallback, mode } = createSummarizers(cfg, logger);
  logger.info(
    { geminiMode: mode, model: mode === 'off' ? null : cfg.GEMINI_MODEL, fallback: fallback?.provider ?? null },
    'summarize ready',
  );
  const service = createSummarizeService({ db: database.db, blobs, tasks, summarizer, fallback, publisher, logger });
  return createSummarizeHandlers({ service, logger, maxTaskAttempts: cfg.SUMMARY_TASK_MAX_ATTEMPTS });
}

function handlers(): Promise<SummarizeHandlers> {
  ready ??= build().catch((err) => {
    ready = null; // the next invocation tries again
    throw err;
  });
  return ready;
}

ff.cloudEvent('summarize', async (ce: ff.CloudEvent<unknown>) => (await handlers()).onCloudEvent(ce));
ff.http('summarizeTask', async (req, res) => (await handlers()).onTask(req, res));

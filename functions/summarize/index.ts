// Functions Framework entry point of functions/summarize: `summarize` takes Eventarc's storage
// object-finalized CloudEvent and dispatches a Cloud Tasks task; `summarizeTask` is that task's HTTP target.
// Config is parsed at start-up; the dependencies are built on the first invocation and reused.
import * as ff from '@google-cloud/functions-framework';
import { createLogger } from '../../shared/core/logger.ts';
import { buildCloudDeps } from '../../shared/adapters/deps.ts';
import { createSummarizeHandlers, type SummarizeHandlers } from './app.ts';
import { createCloudSummaries, loadSummarizeConfig } from './config.ts';

const cfg = loadSummarizeConfig(process.env);
const logger = createLogger({ level: cfg.LOG_LEVEL, component: 'summarize' });

let ready: Promise<SummarizeHandlers> | null = null;

async function build(): Promise<SummarizeHandlers> {
  // No rate or host limiting here: Redis stays unconnected.
  const deps = await buildCloudDeps(cfg, logger, { dbPoolSize: 4, coordination: false });
  const { service, mode, fallback } = createCloudSummaries(cfg, deps, logger);
  logger.info(
    { geminiMode: mode, model: mode === 'off' ? null : cfg.GEMINI_MODEL, fallback: fallback?.provider ?? null },
    'summarize ready',
  );
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

// One-VPS entry point of summarize (QUEUE=postgres): consumes object-finalized events and summary tasks from the
// Postgres job queue with the same service the cloud functions run, and answers /healthz on $PORT.
import { z } from 'zod';
import { BaseConfig, ConfigError, int, loadConfig } from '../../shared/core/config.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { ObjectFinalizedV1, QUEUE_TOPICS, SummaryTaskV1, decodePush } from '../../shared/core/messages.ts';
import { buildCloudDeps } from '../../shared/adapters/deps.ts';
import { SUBSCRIPTIONS, queueTaskQueue } from '../../shared/adapters/pg-queue-wiring.ts';
import { startQueueProcess } from '../../shared/jobs/queue-process.ts';
import { SummarizerEnv, createSummarizers, summarizeRules } from './config.ts';
import { createSummarizeService } from './service.ts';

const VpsSummarizeConfig = BaseConfig.extend(SummarizerEnv.shape)
  .extend({
    PORT: int(8080),
    HOST: z.string().default('0.0.0.0'),
    /** Summaries running at once in this process (the Cloud Tasks queue's maxConcurrentDispatches). */
    SUMMARY_MAX_CONCURRENT: int(2, 1),
    /** On this attempt a transient failure is recorded (and falls back) instead of retried. */
    SUMMARY_TASK_MAX_ATTEMPTS: int(5, 1),
  })
  .superRefine((c, ctx) => {
    summarizeRules(c, ctx);
    if (c.QUEUE !== 'postgres')
      ctx.addIssue({ code: 'custom', path: ['QUEUE'], message: 'this entry point runs on QUEUE=postgres only' });
  });

let config;
try {
  config = loadConfig(VpsSummarizeConfig, process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  process.exit(2);
}
const logger = createLogger({ component: 'summarize', level: config.LOG_LEVEL });
const deps = await buildCloudDeps(config, logger, { dbPoolSize: 4, coordination: false });
const bus = deps.bus!;
const { summarizer, fallback, mode } = createSummarizers(config, logger);
const service = createSummarizeService({
  db: deps.db.db,
  blobs: deps.blobs,
  tasks: queueTaskQueue(bus),
  summarizer,
  fallback,
  publisher: bus,
  logger,
});

// A throw answers 500 and the queue redelivers, as Eventarc and Cloud Tasks do; the service is idempotent.
bus.subscribe(QUEUE_TOPICS.objectFinalized, SUBSCRIPTIONS.finalized, async (body) => {
  const { data } = decodePush(ObjectFinalizedV1, body);
  await service.onObjectFinalized(data);
  return 204;
});
bus.subscribe(
  QUEUE_TOPICS.summaryTasks,
  SUBSCRIPTIONS.summaryTasks,
  async (body) => {
    const { data } = decodePush(SummaryTaskV1, body);
    const finalAttempt = body.deliveryAttempt >= config.SUMMARY_TASK_MAX_ATTEMPTS;
    try {
      await service.runTask(data, { finalAttempt });
      return 204;
    } catch (err) {
      logger.warn({ articleId: data.articleId, attempt: body.deliveryAttempt, err }, 'summary task failed; retrying');
      return 503;
    }
  },
  { concurrency: config.SUMMARY_MAX_CONCURRENT },
);

await startQueueProcess({
  port: config.PORT,
  host: config.HOST,
  logger,
  health: async () => ({ summarizer: summarizer.provider, queue: bus.stats() }),
  close: () => deps.close(),
});
logger.info({ port: config.PORT, geminiMode: mode, fallback: fallback?.provider ?? null }, 'summarize consuming');

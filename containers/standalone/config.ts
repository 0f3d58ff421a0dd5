// Embedded mode's configuration: the API's and the workers' settings plus the summarizer's, in one schema.
import { z } from 'zod';
import { ApiConfig, WorkerConfig, int } from '../../shared/core/config.ts';
import { SummarizerEnv } from '../../functions/summarize/config.ts';
import { BrowserWorkerConfig } from '../browser/config.ts';
import { MonolithWorkerConfig } from '../monolith/config.ts';
import { ImportConfig } from '../../shared/imports/config.ts';

export const EmbeddedConfig = ApiConfig.extend(SummarizerEnv.shape).extend({
  CAPTURE_TIMEOUT_MS: WorkerConfig.shape.CAPTURE_TIMEOUT_MS,
  NAVIGATION_TIMEOUT_MS: BrowserWorkerConfig.shape.NAVIGATION_TIMEOUT_MS,
  MAX_ARTIFACT_BYTES: WorkerConfig.shape.MAX_ARTIFACT_BYTES,
  MAX_RESOURCE_BYTES: BrowserWorkerConfig.shape.MAX_RESOURCE_BYTES,
  CONSENT_MODE: BrowserWorkerConfig.shape.CONSENT_MODE,
  BLOCK_TRACKERS: BrowserWorkerConfig.shape.BLOCK_TRACKERS,
  HOST_CONCURRENCY: WorkerConfig.shape.HOST_CONCURRENCY,
  CHROME_PATH: BrowserWorkerConfig.shape.CHROME_PATH,
  CHROMIUM_SANDBOX: BrowserWorkerConfig.shape.CHROMIUM_SANDBOX,
  MONOLITH_PATH: MonolithWorkerConfig.shape.MONOLITH_PATH,
  MONOLITH_MODE: WorkerConfig.shape.MONOLITH_MODE,
  MONOLITH_MAX_ASSET_BYTES: MonolithWorkerConfig.shape.MONOLITH_MAX_ASSET_BYTES,
  /** Summary tasks dispatched per second and at once (the Cloud Tasks queue's limits, in process). */
  SUMMARY_RATE_PER_SECOND: z.coerce.number().positive().default(1),
  SUMMARY_MAX_CONCURRENT: int(2, 1),
  /** Push delivery attempts before a message goes to the dead-letter topic. */
  MAX_DELIVERY_ATTEMPTS: int(5, 1),
  SWEEP_INTERVAL_SECONDS: int(60, 1),
  // POST /imports and the import queuer (shared/imports/config.ts).
  ...ImportConfig.shape,
});
export type EmbeddedConfig = z.infer<typeof EmbeddedConfig>;

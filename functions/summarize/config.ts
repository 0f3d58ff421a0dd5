// Configuration of functions/summarize (zod, parsed once at start-up, cross-field rules included), the
// summarizer it implies (Gemini in API-key or Vertex mode when configured, extractive otherwise), and the
// cloud summarize service built from it, which the summarize functions run.
import { z } from 'zod';
import { BaseConfig, loadConfig, int, optStr } from '../../shared/core/config.ts';
import type { Logger } from '../../shared/core/logger.ts';
import type { Summarizer } from '../../shared/core/ports.ts';
import type { CloudDeps } from '../../shared/adapters/deps.ts';
import {
  SummaryTasksEnv,
  createSummaryTaskQueue,
  summaryTasksRule,
  type SummaryTasksConfig,
} from '../../shared/adapters/cloud-tasks.ts';
import { createExtractiveSummarizer } from './extractive.ts';
import { createGeminiSummarizer } from './gemini.ts';
import { createSummarizeService, type SummarizeService } from './service.ts';

const optInt = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) ctx.addIssue({ code: 'custom', message: 'expected a non-negative integer' });
    return n;
  });

/** The summarizer settings; the embedded config can `.extend(SummarizerEnv.shape)` to share them. */
export const SummarizerEnv = z.object({
  /** api-key | vertex | off; unset: api-key when GEMINI_API_KEY is set, else off (extractive). */
  GEMINI_MODE: z.enum(['api-key', 'vertex', 'off']).optional(),
  GEMINI_API_KEY: optStr,
  GEMINI_MODEL: z.string().min(1).default('gemini-2.5-flash'),
  /** Another endpoint for the Gemini client (a proxy; the fake in tests). */
  GEMINI_BASE_URL: optStr,
  GOOGLE_CLOUD_PROJECT: optStr,
  /** Vertex AI location of the model; 'global' serves the 2.5 models. */
  GEMINI_LOCATION: z.string().min(1).default('global'),
  GEMINI_TIMEOUT_MS: int(60_000, 1000),
  GEMINI_MAX_RETRIES: int(3),
  /** Most input tokens per request; longer articles are summarized in chunks (map, then reduce). */
  GEMINI_TOKEN_BUDGET: int(100_000, 2000),
  GEMINI_MAX_CHUNKS: int(20, 2),
  GEMINI_MAX_OUTPUT_TOKENS: int(2048, 256),
  /** 2.5 models think by default and bill it as output; 0 turns it off on Flash. Unset: model default. */
  GEMINI_THINKING_BUDGET: optInt,
  /** Language of summaries (e.g. English); unset: each article's own language. */
  SUMMARY_LANGUAGE: optStr,
  /** What runs when Gemini fails for good (safety block, invalid output, input too long). */
  SUMMARY_FALLBACK: z.enum(['extractive', 'none']).default('extractive'),
});
export type SummarizerEnv = z.infer<typeof SummarizerEnv>;

type Issue = { path: string; message: string };

/** The summarizer settings' cross-field rules, as messages (geminiMode throws the first). */
function summarizerIssues(cfg: SummarizerEnv): Issue[] {
  const mode = cfg.GEMINI_MODE ?? (cfg.GEMINI_API_KEY ? 'api-key' : 'off');
  if (mode === 'api-key' && !cfg.GEMINI_API_KEY)
    return [{ path: 'GEMINI_API_KEY', message: 'GEMINI_MODE=api-key needs GEMINI_API_KEY' }];
  if (mode === 'vertex' && !cfg.GOOGLE_CLOUD_PROJECT)
    return [{ path: 'GOOGLE_CLOUD_PROJECT', message: 'GEMINI_MODE=vertex needs GOOGLE_CLOUD_PROJECT' }];
  return [];
}

/**
 * superRefine rules of a schema carrying SummarizerEnv (and SummaryTasksEnv): Gemini's mode has its
 * credentials, and Cloud Tasks has a project. Schemas that extend `.shape` lose refinements, so each adds these.
 */
export function summarizeRules(cfg: SummarizerEnv & Partial<SummaryTasksEnv>, ctx: z.RefinementCtx): void {
  for (const i of summarizerIssues(cfg)) ctx.addIssue({ code: 'custom', path: [i.path], message: i.message });
  summaryTasksRule(cfg, ctx);
}

export const SummarizeConfig = BaseConfig.extend(SummarizerEnv.shape)
  .extend(SummaryTasksEnv.shape)
  .extend({
    GOOGLE_CLOUD_PROJECT: z.string({ error: 'GOOGLE_CLOUD_PROJECT is required for Cloud Tasks' }).min(1),
    /** The bucket whose readable.json objects Eventarc announces, and that the task handler reads. */
    ARTIFACTS_BUCKET: z.string({ error: 'ARTIFACTS_BUCKET is required' }).min(1),
    SUMMARY_TASK_URL: z.string().url(),
  })
  .superRefine(summarizeRules);
export type SummarizeConfig = z.infer<typeof SummarizeConfig>;

export function loadSummarizeConfig(env: Record<string, string | undefined>): Readonly<SummarizeConfig> {
  return loadConfig(SummarizeConfig, env);
}

/** The Gemini mode the settings select; throws on a combination summarizeRules refuses. */
export function geminiMode(cfg: SummarizerEnv): 'api-key' | 'vertex' | 'off' {
  const issue = summarizerIssues(cfg)[0];
  if (issue) throw new Error(issue.message);
  return cfg.GEMINI_MODE ?? (cfg.GEMINI_API_KEY ? 'api-key' : 'off');
}

/** The summarizer the configuration asks for, and the fallback for its permanent failures. */
export function createSummarizers(
  cfg: SummarizerEnv,
  logger: Logger,
): { summarizer: Summarizer; fallback?: Summarizer; mode: 'api-key' | 'vertex' | 'off' } {
  const mode = geminiMode(cfg);
  const extractive = createExtractiveSummarizer();
  if (mode === 'off') return { summarizer: extractive, mode };
  const summarizer = createGeminiSummarizer({
    mode,
    apiKey: cfg.GEMINI_API_KEY,
    project: cfg.GOOGLE_CLOUD_PROJECT,
    location: cfg.GEMINI_LOCATION,
    model: cfg.GEMINI_MODEL,
    baseUrl: cfg.GEMINI_BASE_URL,
    timeoutMs: cfg.GEMINI_TIMEOUT_MS,
    maxRetries: cfg.GEMINI_MAX_RETRIES,
    tokenBudget: cfg.GEMINI_TOKEN_BUDGET,
    maxChunks: cfg.GEMINI_MAX_CHUNKS,
    maxOutputTokens: cfg.GEMINI_MAX_OUTPUT_TOKENS,
    thinkingBudget: cfg.GEMINI_THINKING_BUDGET,
    outputLanguage: cfg.SUMMARY_LANGUAGE,
    logger,
  });
  return { summarizer, fallback: cfg.SUMMARY_FALLBACK === 'extractive' ? extractive : undefined, mode };
}

/** What the cloud summarize service needs from the configuration: the summarizer's and the queue's settings. */
export type CloudSummariesConfig = SummarizerEnv & SummaryTasksConfig;

/**
 * The summarize service of the cloud deployables, on the shared adapters (shared/adapters/deps.ts): tasks go
 * to Cloud Tasks. summarize and summarizeTask run it; the API requests through shared/jobs/summary-request.ts.
 */
export function createCloudSummaries(
  cfg: Readonly<CloudSummariesConfig>,
  deps: Pick<CloudDeps, 'db' | 'blobs' | 'publisher' | 'tasksClient'>,
  logger: Logger,
): { service: SummarizeService; mode: 'api-key' | 'vertex' | 'off'; fallback?: Summarizer } {
  const tasks = createSummaryTaskQueue(cfg, deps.tasksClient(), logger);
  const { summarizer, fallback, mode } = createSummarizers(cfg, logger);
  const service = createSummarizeService({
    db: deps.db.db,
    blobs: deps.blobs,
    tasks,
    summarizer,
    fallback,
    publisher: deps.publisher,
    logger,
  });
  return { service, mode, fallback };
}

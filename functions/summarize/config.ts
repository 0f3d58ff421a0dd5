// Configuration of functions/summarize (zod, parsed once at start-up), and the choice of summarizer it
// implies: Gemini in API-key or Vertex mode when configured, the extractive summarizer otherwise.
import { z } from 'zod';
import { BaseConfig, loadConfig, int, optStr } from '../../shared/core/config.ts';
import type { Logger } from '../../shared/core/logger.ts';
import type { Summarizer } from '../../shared/core/ports.ts';
import { createExtractiveSummarizer } from './extractive.ts';
import { createGeminiSummarizer } from './gemini.ts';

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

export const SummarizeConfig = BaseConfig.extend(SummarizerEnv.shape).extend({
  /** Cloud Tasks queue that paces summaries; its rate and concurrency live in the infrastructure. */
  CLOUD_TASKS_QUEUE: z.string().min(1).default('summaries'),
  CLOUD_TASKS_LOCATION: z.string().min(1).default('us-central1'),
  /** host:port of a Cloud Tasks REST endpoint (the fake in tests); unset: the real service. */
  CLOUD_TASKS_API_ENDPOINT: optStr,
  /** URL of the summarizeTask function (the task's HTTP target). */
  SUMMARY_TASK_URL: z.string().url(),
  /** Service account Cloud Tasks signs the OIDC token as (the invoker of summarizeTask). */
  SUMMARY_TASK_SERVICE_ACCOUNT: optStr,
  /** Must match the queue's retryConfig.maxAttempts: on the last one a transient failure is recorded. */
  SUMMARY_TASK_MAX_ATTEMPTS: int(5, 1),
});
export type SummarizeConfig = z.infer<typeof SummarizeConfig>;

export function loadSummarizeConfig(env: Record<string, string | undefined>): Readonly<SummarizeConfig> {
  const cfg = loadConfig(SummarizeConfig, env);
  geminiMode(cfg); // fail at start-up, not on the first article
  if (!cfg.GOOGLE_CLOUD_PROJECT) throw new Error('GOOGLE_CLOUD_PROJECT is required for Cloud Tasks');
  return cfg;
}

export function geminiMode(cfg: SummarizerEnv): 'api-key' | 'vertex' | 'off' {
  const mode = cfg.GEMINI_MODE ?? (cfg.GEMINI_API_KEY ? 'api-key' : 'off');
  if (mode === 'api-key' && !cfg.GEMINI_API_KEY) throw new Error('GEMINI_MODE=api-key needs GEMINI_API_KEY');
  if (mode === 'vertex' && !cfg.GOOGLE_CLOUD_PROJECT) throw new Error('GEMINI_MODE=vertex needs GOOGLE_CLOUD_PROJECT');
  return mode;
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

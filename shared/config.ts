// Configuration: one zod schema per deployable, parsed once from the environment at start-up and frozen.
// Library code never reads process.env; it receives the parsed object.
import { z } from 'zod';

const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : v === 'true' || v === '1' || v === 'yes'));
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const optStr = z
  .string()
  .optional()
  .transform((v) => (v === '' ? undefined : v));

/** Settings every deployable shares. */
export const BaseConfig = z.object({
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Local data (PGlite, blobs) when no cloud service is configured. */
  HTBASE_DATA_DIR: z.string().default('./data'),
  /** Postgres server; unset selects PGlite in HTBASE_DATA_DIR. */
  DATABASE_URL: optStr,
  /** Allow loopback/private capture targets: local pages and tests only. */
  HTBASE_ALLOW_PRIVATE_NETWORKS: bool(false),
  GOOGLE_CLOUD_PROJECT: optStr,
  /** Cloud Storage bucket; unset selects the local-disk store. */
  ARTIFACTS_BUCKET: optStr,
  /** Cloud Storage endpoint override (the fake server in tests). */
  STORAGE_API_ENDPOINT: optStr,
  /** Pub/Sub is used when set (or PUBSUB_EMULATOR_HOST); otherwise the in-process bus. */
  PUBSUB_ENABLED: bool(false),
  REDIS_URL: optStr,
  /** Seconds a worker's claim on an artifact lasts before the sweeper may hand it to another. */
  LEASE_SECONDS: int(300, 10),
});

export const ApiConfig = BaseConfig.extend({
  PORT: int(8080),
  HOST: z.string().default('127.0.0.1'),
  /** A new POST for a URL archived (or in progress) within this window returns that snapshot. */
  DEDUP_WINDOW_SECONDS: int(3600),
  MAX_BODY_BYTES: int(16 * 1024, 1024),
  /** Requests per minute per client (API key or address); 0 disables. */
  RATE_LIMIT_PER_MINUTE: int(120),
  SIGNED_URL_TTL_SECONDS: int(300, 1),
  /** Require an API key (Bearer). The cloud deployment refuses to start without an auth method. */
  API_KEYS_REQUIRED: bool(false),
  /** Accept Google ID tokens with this audience (cloud). */
  GOOGLE_ID_TOKEN_AUDIENCE: optStr,
  GOOGLE_ID_TOKEN_ALLOWED_EMAILS: optStr,
});
export type ApiConfig = z.infer<typeof ApiConfig>;

export const WorkerConfig = BaseConfig.extend({
  PORT: int(8080),
  HOST: z.string().default('0.0.0.0'),
  /** Whole-capture wall-clock limit per message. */
  CAPTURE_TIMEOUT_MS: int(120_000, 1000),
  NAVIGATION_TIMEOUT_MS: int(30_000, 1000),
  MAX_ARTIFACT_BYTES: int(200 * 1024 * 1024, 1024),
  /** Concurrent captures per target host across all instances. */
  HOST_CONCURRENCY: int(2, 1),
  CHROME_PATH: optStr,
  MONOLITH_PATH: optStr,
  MONOLITH_MODE: z.enum(['url', 'rendered']).default('url'),
  /** Verify the Pub/Sub push OIDC token. Off only by explicit configuration (the emulator sends none). */
  PUBSUB_VERIFY_OIDC: bool(true),
  PUBSUB_AUDIENCE: optStr,
  PUBSUB_INVOKER_SA: optStr,
  OIDC_JWKS_URL: optStr,
  /** Grace period after SIGTERM to finish or release the job in flight (Cloud Run gives 10 s). */
  SHUTDOWN_GRACE_MS: int(8_000),
});
export type WorkerConfig = z.infer<typeof WorkerConfig>;

/** Embedded mode: every deployable in one process. */
export const EmbeddedConfig = ApiConfig.extend({
  CAPTURE_TIMEOUT_MS: WorkerConfig.shape.CAPTURE_TIMEOUT_MS,
  NAVIGATION_TIMEOUT_MS: WorkerConfig.shape.NAVIGATION_TIMEOUT_MS,
  MAX_ARTIFACT_BYTES: WorkerConfig.shape.MAX_ARTIFACT_BYTES,
  HOST_CONCURRENCY: WorkerConfig.shape.HOST_CONCURRENCY,
  CHROME_PATH: optStr,
  MONOLITH_PATH: optStr,
  MONOLITH_MODE: WorkerConfig.shape.MONOLITH_MODE,
  GEMINI_API_KEY: optStr,
  GEMINI_MODE: z.enum(['api-key', 'vertex', 'off']).optional(),
  GEMINI_MODEL: z.string().default('gemini-2.5-flash'),
  GEMINI_BASE_URL: optStr,
  GEMINI_TIMEOUT_MS: int(60_000, 1000),
  GEMINI_MAX_RETRIES: int(4),
  /** Most input tokens per Gemini request; longer articles are summarized in chunks (map, then reduce). */
  GEMINI_TOKEN_BUDGET: int(200_000, 1000),
  GOOGLE_CLOUD_LOCATION: z.string().default('us-central1'),
  SUMMARY_RATE_PER_SECOND: z.coerce.number().positive().default(1),
  SUMMARY_MAX_CONCURRENT: int(2, 1),
  /** Push delivery attempts before a message goes to the dead-letter topic. */
  MAX_DELIVERY_ATTEMPTS: int(5, 1),
  SWEEP_INTERVAL_SECONDS: int(60, 1),
});
export type EmbeddedConfig = z.infer<typeof EmbeddedConfig>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `env` with `schema`; throws a ConfigError listing every bad variable. */
export function loadConfig<S extends z.ZodTypeAny>(schema: S, env: Record<string, string | undefined>): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}

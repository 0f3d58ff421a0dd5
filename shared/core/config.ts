// Configuration: one zod schema per deployable, parsed once from the environment at start-up and frozen.
// Library code never reads process.env; it receives the parsed object.
import { z } from 'zod';

/** Shared field builders, so every deployable's schema reads the environment the same way. */
export const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? def : v === 'true' || v === '1' || v === 'yes'));
export const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
export const optStr = z
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
  /** S3-compatible bucket for the artifacts (AWS, MinIO, R2, Backblaze B2, Wasabi, GCS interoperability). */
  S3_BUCKET: optStr,
  /** The service's URL (https://s3.eu-central-1.wasabisys.com, http://minio:9000); unset: AWS for S3_REGION. */
  S3_ENDPOINT: optStr.pipe(z.url({ protocol: /^https?$/, error: 'S3_ENDPOINT must be an http(s) URL' }).optional()),
  S3_REGION: z.string().default('us-east-1'),
  /** Static credentials; unset: the AWS SDK's default chain (AWS_* variables, profile, instance role). */
  S3_ACCESS_KEY_ID: optStr,
  S3_SECRET_ACCESS_KEY: optStr,
  /** Path-style URLs (endpoint/bucket/key), which MinIO and most self-hosted services need. */
  S3_FORCE_PATH_STYLE: bool(false),
  REDIS_URL: optStr,
  /** Seconds a worker's claim on an artifact lasts before the sweeper may hand it to another. */
  LEASE_SECONDS: int(300, 10),
  /** Prepended to every Pub/Sub topic name (`htbase-`), so two stacks can share a project. */
  PUBSUB_TOPIC_PREFIX: z
    .string()
    .regex(/^(?:[a-z][a-z0-9-]*-)?$/, 'lowercase letters, digits and "-", ending in "-" (e.g. "htbase-")')
    .default(''),
  /** Postgres connections per instance; infra sizes it from the Cloud SQL tier's max_connections. */
  DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).optional(),
  /** Logged-in capture: the AES-256 key (base64) sealing users' cookies; the cloud sets it from Secret Manager.
   *  Unset in the single process: a key file in HTBASE_DATA_DIR (cookies.key, 0600) made on first use. */
  COOKIE_ENCRYPTION_KEY: optStr,
  /** The message bus: Pub/Sub (cloud), or `postgres`, the pg-boss job queue in DATABASE_URL (one VPS). */
  QUEUE: z.enum(['pubsub', 'postgres']).default('pubsub'),
  /** Postgres job queue tuning (QUEUE=postgres); every process of one deployment must agree on the first three. */
  QUEUE_MAX_DELIVERY_ATTEMPTS: int(5, 1),
  QUEUE_MIN_BACKOFF_MS: int(10_000, 1000),
  QUEUE_MAX_BACKOFF_MS: int(600_000, 1000),
  /** Seconds a delivery may run before its job is redelivered (a killed worker's lease); default LEASE_SECONDS. */
  QUEUE_ACK_DEADLINE_SECONDS: optStr.pipe(z.coerce.number<string | undefined>().int().min(1).optional()),
  QUEUE_POLL_SECONDS: z.coerce.number().min(0.5).default(2),
  QUEUE_MAINTENANCE_SECONDS: int(30, 1),
  /** Deliveries one process runs at once per subscription (scale with processes: --scale browser=3). */
  QUEUE_CONCURRENCY: int(1, 1),
});

export const ApiConfig = BaseConfig.extend({
  PORT: int(8080),
  HOST: z.string().default('127.0.0.1'),
  /** A new POST for a URL archived (or in progress) within this window returns that snapshot. */
  DEDUP_WINDOW_SECONDS: int(3600),
  MAX_BODY_BYTES: int(16 * 1024, 1024),
  /** POST /archives/upload (a page saved by SingleFile): the largest file accepted; larger answers 413. */
  UPLOAD_MAX_BYTES: int(50 * 1024 * 1024, 1024),
  /** Writes (POST, DELETE: they start captures) per minute per client (API key or address); 0 disables. */
  RATE_LIMIT_PER_MINUTE: int(120),
  /** Reads (status polling, search, downloads) per minute per client; 0 disables. */
  READ_RATE_LIMIT_PER_MINUTE: int(1200),
  SIGNED_URL_TTL_SECONDS: int(300, 1),
  /** Require an API key (Bearer). The cloud deployment refuses to start without an auth method. */
  API_KEYS_REQUIRED: bool(false),
  /**
   * On a real PostgreSQL, verified API keys are kept in memory for a few seconds while one LISTEN connection per
   * process, outside DB_POOL_SIZE, hears revocations. `off` reads every key from the database (Pulumi turns it off
   * when the Cloud SQL tier has no room for that connection: infra/pools.ts).
   */
  API_KEY_CACHE: z.enum(['on', 'off']).default('on'),
  /** Accept Google ID tokens with this audience (cloud). */
  GOOGLE_ID_TOKEN_AUDIENCE: optStr,
  GOOGLE_ID_TOKEN_ALLOWED_EMAILS: optStr,
  /** Accept Firebase Authentication / Identity Platform ID tokens of this project (the web and mobile apps). */
  FIREBASE_PROJECT_ID: optStr,
  /** Emails or domains whose first Firebase sign-in creates a member user (existing users always sign in). */
  FIREBASE_ALLOWED_EMAILS: optStr,
  /** Where people reach this server (https://archive.example.org): its host is answered to, its origin trusted. */
  PUBLIC_URL: optStr.pipe(z.url({ protocol: /^https?$/, error: 'PUBLIC_URL must be an http(s) URL' }).optional()),
  /** More Host names to answer to, comma-separated (besides loopback and PUBLIC_URL's). */
  ALLOWED_HOSTS: optStr,
  /** Origins allowed to call the API from a browser besides its own, comma-separated (the browser extension). */
  ALLOWED_ORIGINS: optStr,
  /** The browser extension's installs allowed to call the API (CORS): Chrome ids and/or Firefox UUIDs, comma-separated. */
  ALLOWED_EXTENSION_IDS: optStr,
  /** Express `trust proxy`: unset, X-Forwarded-For is ignored; `loopback`, a hop count or proxy addresses. */
  TRUST_PROXY: optStr,
});
export type ApiConfig = z.infer<typeof ApiConfig>;

/**
 * Settings every capture worker shares (the push server, claims, limits, OIDC). Each engine extends it with its
 * own: containers/browser/config.ts (BrowserWorkerConfig) and containers/monolith/config.ts (MonolithWorkerConfig).
 */
export const WorkerConfig = BaseConfig.extend({
  PORT: int(8080),
  HOST: z.string().default('0.0.0.0'),
  /** Whole-capture wall-clock limit per message. */
  CAPTURE_TIMEOUT_MS: int(120_000, 1000),
  MAX_ARTIFACT_BYTES: int(200 * 1024 * 1024, 1024),
  /** Concurrent captures per target host across all instances. */
  HOST_CONCURRENCY: int(2, 1),
  /** Both engines read it: in `rendered` mode the browser stores the rendered DOM and monolith archives it. */
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

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses `env` with `schema`; throws a ConfigError listing every bad variable. */
export function loadConfig<S extends z.ZodTypeAny>(
  schema: S,
  env: Record<string, string | undefined>,
): Readonly<z.infer<S>> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const problems = storageProblems(parsed.data as Record<string, unknown>);
  if (problems.length) throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  return Object.freeze(parsed.data);
}

/** Cross-field rules of the artifact store settings (BaseConfig is extended, so they cannot be a refinement). */
export function storageProblems(c: Record<string, unknown>): string[] {
  const out: string[] = [];
  if (c.S3_BUCKET && c.ARTIFACTS_BUCKET)
    out.push('ARTIFACTS_BUCKET, S3_BUCKET: set one artifact store, Cloud Storage (ARTIFACTS_BUCKET) or S3 (S3_BUCKET)');
  if (!c.S3_ACCESS_KEY_ID !== !c.S3_SECRET_ACCESS_KEY)
    out.push(
      `${c.S3_ACCESS_KEY_ID ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID'}: S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together`,
    );
  if (!c.S3_BUCKET && (c.S3_ENDPOINT || c.S3_ACCESS_KEY_ID))
    out.push('S3_BUCKET: S3_ENDPOINT or S3 credentials are set but no S3_BUCKET');
  return out;
}

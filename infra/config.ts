// Typed stack configuration: every knob of the deployment (project, region, sizes, rates, model) read once
// from Pulumi config with defaults, validated, and handed to createStack as a plain frozen object.
import { isAbsolute, resolve } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { SERVICE_ACCOUNTS } from './roles.ts';
import { planPools } from './pools.ts';

/** The repository root; relative paths in the stack config are relative to it, not to infra/. */
export const REPO_ROOT = resolve(new URL('..', import.meta.url).pathname);

export interface StackConfig {
  /** Google Cloud project id. */
  project: string;
  /** Region for every regional resource (Cloud Run, functions, SQL, Redis, bucket, queue). */
  region: string;
  /**
   * Resource name prefix, so two stacks can share a project (e.g. "htbase", "htbase-stg"): every name the stack
   * creates carries it, topics, subscriptions and the Firestore database included. At most MAX_PREFIX characters.
   */
  prefix: string;
  /** Container images, ideally pinned by digest (`...@sha256:`), set by Cloud Build per deploy. */
  browserImage: string;
  monolithImage: string;
  /** Folder holding the function bundles made by `npm run build:functions` (dist/functions). */
  functionsDir: string;
  /**
   * Seconds the deployables wait after the stack's IAM grants are made (IAM applies in about 2 minutes, at worst 7);
   * only a grant added or removed later waits again.
   */
  iamPropagationSeconds: number;
  /** Whether Pulumi may delete stateful resources (false in production). */
  protectData: boolean;
  database: {
    tier: string;
    diskSizeGb: number;
    /** ZONAL or REGIONAL (high availability, twice the price). */
    availability: 'ZONAL' | 'REGIONAL';
    backupRetainedCount: number;
    /** Days of write-ahead log kept for point-in-time recovery (1-7). */
    pitrDays: number;
    /** Only for a tier pools.ts does not know: its max_connections (the pools are sized from it). */
    maxConnections?: number;
  };
  /**
   * Memorystore for Redis (`htbase:redis`): off by default, when rate limits count in Cloud SQL instead. `true`
   * turns it on with the sizes below; an object (`{memoryGb, tier}`) turns it on too unless it says `enabled: false`.
   */
  redis: { enabled: boolean; memoryGb: number; tier: 'BASIC' | 'STANDARD_HA' };
  network: { subnetCidr: string; psaPrefixLength: number };
  browser: { cpu: string; memory: string; concurrency: number; maxInstances: number; minInstances: number };
  monolith: { cpu: string; memory: string; concurrency: number; maxInstances: number; minInstances: number };
  /** Whole-capture wall-clock limit the workers enforce (CAPTURE_TIMEOUT_MS); Run timeouts and ack deadlines derive from it. */
  captureTimeoutSeconds: number;
  /** Push attempts before a message goes to its dead-letter topic (5-100). */
  maxDeliveryAttempts: number;
  summaries: {
    /** Cloud Tasks dispatch rate and concurrency towards the Gemini task handler. */
    ratePerSecond: number;
    maxConcurrent: number;
    maxAttempts: number;
  };
  /** Gemini for the summary task handler; location is the Vertex AI location ('global' serves 2.5). */
  gemini: { mode: 'api-key' | 'vertex' | 'off'; model: string; location: string };
  /**
   * Days before artifacts move to Nearline / are deleted (0 = never delete). retentionDays: the bucket's
   * retention policy, no object deleted or replaced before that age (0 = none); retentionLocked locks it for
   * good (tamper evidence for archivists; irreversible in Cloud Storage).
   */
  artifacts: {
    nearlineAfterDays: number;
    deleteAfterDays: number;
    softDeleteDays: number;
    retentionDays?: number;
    retentionLocked?: boolean;
  };
  firestoreLocation: string;
  /**
   * The stuck-work sweeper: Cloud Scheduler's unix-cron schedule and time zone, and the claims after which
   * a stuck artifact is failed (`stuck`) instead of republished (SWEEP_MAX_ATTEMPTS).
   */
  sweep: { schedule: string; timeZone: string; maxAttempts: number };
  /**
   * Instances each function may scale to. With the workers' and the API's maxInstances they decide the database
   * pools (pools.ts): every instance at its maximum must fit in the tier's max_connections.
   */
  functions: { summarize: number; summaryTask: number; sync: number; sweep: number };
  /** Extra API settings passed to functions/api. */
  api: {
    maxInstances: number;
    rateLimitPerMinute: number;
    idTokenAudience?: string;
    allowedEmails?: string;
    /** The Firebase web app's API key (public): the web app then offers Sign in with Google. */
    firebaseWebApiKey?: string;
    /** Firebase Auth's domain for the sign-in popup; default `<project>.firebaseapp.com`. */
    firebaseAuthDomain?: string;
  };
}

/** Service-account ids are 6-30 characters; the longest one the stack makes is `${prefix}-${longest key}`. */
export const SA_ID_MAX = 30;
const LONGEST_ACCOUNT_KEY = Object.keys(SERVICE_ACCOUNTS).reduce((a, b) => (b.length > a.length ? b : a));
export const MAX_PREFIX = SA_ID_MAX - 1 - LONGEST_ACCOUNT_KEY.length;

/** Names the stack derives from its prefix, shared by infra and the environment it gives the deployables. */
export function names(cfg: Pick<StackConfig, 'prefix'>) {
  return {
    /** Prepended to every Pub/Sub topic and subscription name (PUBSUB_TOPIC_PREFIX in the deployables). */
    pubsubPrefix: `${cfg.prefix}-`,
    /** The stack's own Firestore database (FIRESTORE_DATABASE for sync). */
    firestoreDatabase: `${cfg.prefix}-replica`,
  };
}

export class StackConfigError extends Error {
  override name = 'StackConfigError';
}

/** Defaults for everything but project and images; a stack file overrides what it needs. */
export function defaults(project: string, region = 'us-central1'): StackConfig {
  return {
    project,
    region,
    prefix: 'htbase',
    browserImage: '',
    monolithImage: '',
    functionsDir: 'dist/functions',
    iamPropagationSeconds: 120,
    protectData: true,
    database: { tier: 'db-f1-micro', diskSizeGb: 10, availability: 'ZONAL', backupRetainedCount: 7, pitrDays: 7 },
    redis: { enabled: false, memoryGb: 1, tier: 'BASIC' },
    network: { subnetCidr: '10.20.0.0/24', psaPrefixLength: 20 },
    // Instance caps fit db-f1-micro's 25 connections (pools.ts): raise them together with database.tier.
    // concurrency 2: one Chromium on 2 vCPU peaks at 2 captures at once (npm run bench:concurrency, README).
    browser: { cpu: '2', memory: '2Gi', concurrency: 2, maxInstances: 5, minInstances: 0 },
    monolith: { cpu: '1', memory: '1Gi', concurrency: 2, maxInstances: 3, minInstances: 0 },
    captureTimeoutSeconds: 120,
    maxDeliveryAttempts: 5,
    summaries: { ratePerSecond: 1, maxConcurrent: 2, maxAttempts: 5 },
    gemini: { mode: 'api-key', model: 'gemini-2.5-flash', location: 'global' },
    artifacts: { nearlineAfterDays: 90, deleteAfterDays: 0, softDeleteDays: 7 },
    firestoreLocation: region === 'us-central1' ? 'nam5' : region,
    sweep: { schedule: '*/5 * * * *', timeZone: 'Etc/UTC', maxAttempts: 7 },
    functions: { summarize: 2, summaryTask: 2, sync: 2, sweep: 1 },
    api: { maxInstances: 4, rateLimitPerMinute: 120 },
  };
}

/** Derived timings: Run request timeout above the capture limit, ack deadline above the Run timeout. */
export function timings(cfg: Pick<StackConfig, 'captureTimeoutSeconds'>): {
  runTimeoutSeconds: number;
  ackDeadlineSeconds: number;
} {
  const runTimeoutSeconds = cfg.captureTimeoutSeconds + 60; // browser start-up + upload after the capture
  // Pub/Sub caps push ack deadlines at 600 s; a longer capture limit cannot be honoured.
  const ackDeadlineSeconds = runTimeoutSeconds + 30;
  return { runTimeoutSeconds, ackDeadlineSeconds };
}

/** Cloud Storage's ceiling for a retention period (3,155,760,000 s), in whole days. */
const MAX_RETENTION_DAYS = Math.floor(3_155_760_000 / 86_400) - 1;

function retentionErrors(a: StackConfig['artifacts']): string[] {
  const days = a.retentionDays ?? 0;
  const errs: string[] = [];
  if (!Number.isInteger(days) || days < 0 || days > MAX_RETENTION_DAYS)
    errs.push(`artifacts.retentionDays: a whole number of days, 0-${MAX_RETENTION_DAYS}`);
  if (a.retentionLocked && days <= 0) errs.push('artifacts.retentionLocked: needs retentionDays > 0');
  if (days > 0 && a.deleteAfterDays > 0 && a.deleteAfterDays < days)
    errs.push('artifacts.deleteAfterDays: at least retentionDays (retained objects cannot be deleted)');
  return errs;
}

export function validate(cfg: StackConfig): Readonly<StackConfig> {
  const errs: string[] = [];
  if (!/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(cfg.project)) errs.push(`project: "${cfg.project}" is not a project id`);
  if (!/^[a-z]+-[a-z]+\d$/.test(cfg.region)) errs.push(`region: "${cfg.region}" is not a region`);
  if (!/^[a-z](?:[a-z0-9-]*[a-z0-9])?$/.test(cfg.prefix) || cfg.prefix.length < 2 || cfg.prefix.length > MAX_PREFIX) {
    errs.push(
      `prefix: "${cfg.prefix}" must be 2-${MAX_PREFIX} characters of a-z, 0-9 and "-", starting with a letter and ` +
        `not ending in "-" (the service-account id "${cfg.prefix}-${LONGEST_ACCOUNT_KEY}" must fit in ${SA_ID_MAX})`,
    );
  }
  if (!cfg.browserImage)
    errs.push('browserImage: required (set by Cloud Build: pulumi config set browserImage ...@sha256:...)');
  if (!cfg.monolithImage) errs.push('monolithImage: required');
  if (cfg.maxDeliveryAttempts < 5 || cfg.maxDeliveryAttempts > 100)
    errs.push('maxDeliveryAttempts: Pub/Sub allows 5-100');
  if (timings(cfg).ackDeadlineSeconds > 600)
    errs.push('captureTimeoutSeconds: at most 510 (push ack deadline is capped at 600 s)');
  if (!(cfg.iamPropagationSeconds >= 0 && cfg.iamPropagationSeconds <= 600)) errs.push('iamPropagationSeconds: 0-600');
  if (cfg.database.pitrDays < 1 || cfg.database.pitrDays > 7) errs.push('database.pitrDays: 1-7');
  if (cfg.browser.concurrency < 1 || cfg.browser.concurrency > 4)
    errs.push('browser.concurrency: 1-4 (one Chromium per instance)');
  if (cfg.redis.enabled && !(cfg.redis.memoryGb >= 1)) errs.push('redis.memoryGb: at least 1 (Memorystore minimum)');
  if (cfg.redis.enabled && !['BASIC', 'STANDARD_HA'].includes(cfg.redis.tier))
    errs.push('redis.tier: BASIC or STANDARD_HA');
  if (cfg.summaries.ratePerSecond <= 0) errs.push('summaries.ratePerSecond: > 0');
  errs.push(...retentionErrors(cfg.artifacts));
  if (cfg.sweep.schedule.trim().split(/\s+/).length !== 5)
    errs.push(`sweep.schedule: "${cfg.sweep.schedule}" is not a 5-field unix-cron schedule`);
  if (cfg.sweep.maxAttempts <= cfg.maxDeliveryAttempts)
    errs.push('sweep.maxAttempts: above maxDeliveryAttempts (dead letters settle those first)');
  try {
    planPools(cfg);
  } catch (err) {
    errs.push((err as Error).message);
  }
  if (errs.length) throw new StackConfigError(`invalid stack configuration:\n  ${errs.join('\n  ')}`);
  return Object.freeze(cfg);
}

/**
 * `htbase:redis` as a boolean or an object. A stack written before Redis became optional sets the object form
 * (memoryGb, tier) and had Memorystore: it keeps it rather than losing its instance on the next `pulumi up`.
 */
export function redisConfig(raw: unknown, base: StackConfig['redis']): StackConfig['redis'] {
  if (raw === undefined) return base;
  if (typeof raw === 'boolean') return { ...base, enabled: raw };
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Partial<StackConfig['redis']>;
    if (o.enabled !== undefined && typeof o.enabled !== 'boolean')
      throw new StackConfigError('redis.enabled: true or false');
    return { ...base, enabled: true, ...o };
  }
  throw new StackConfigError(`redis: true, false or {memoryGb, tier}, not ${JSON.stringify(raw)}`);
}

const fromRoot = (p: string) => (isAbsolute(p) ? p : resolve(REPO_ROOT, p));

/** Reads the `htbase:*` keys (and `gcp:project` / `gcp:region`) of the current stack. */
export function loadStackConfig(
  c = new pulumi.Config('htbase'),
  gcpCfg = new pulumi.Config('gcp'),
): Readonly<StackConfig> {
  const project = c.get('project') ?? gcpCfg.get('project') ?? '';
  const base = defaults(project, c.get('region') ?? gcpCfg.get('region') ?? 'us-central1');
  const obj = <T extends object>(key: string, d: T): T => ({ ...d, ...(c.getObject<Partial<T>>(key) ?? {}) });
  return validate({
    ...base,
    prefix: c.get('prefix') ?? base.prefix,
    browserImage: c.get('browserImage') ?? '',
    monolithImage: c.get('monolithImage') ?? '',
    functionsDir: fromRoot(c.get('functionsDir') ?? base.functionsDir),
    protectData: c.getBoolean('protectData') ?? base.protectData,
    iamPropagationSeconds: c.getNumber('iamPropagationSeconds') ?? base.iamPropagationSeconds,
    database: obj('database', base.database),
    redis: redisConfig(c.getObject<unknown>('redis'), base.redis),
    network: obj('network', base.network),
    browser: obj('browser', base.browser),
    monolith: obj('monolith', base.monolith),
    captureTimeoutSeconds: c.getNumber('captureTimeoutSeconds') ?? base.captureTimeoutSeconds,
    maxDeliveryAttempts: c.getNumber('maxDeliveryAttempts') ?? base.maxDeliveryAttempts,
    summaries: obj('summaries', base.summaries),
    gemini: obj('gemini', base.gemini),
    artifacts: obj('artifacts', base.artifacts),
    firestoreLocation: c.get('firestoreLocation') ?? base.firestoreLocation,
    sweep: obj('sweep', base.sweep),
    functions: obj('functions', base.functions),
    api: obj('api', base.api),
  });
}

// The Cloud Functions of the stack (api, summarize, summary-task, sync, sweep) and the sweep's schedule: each
// one's sizing, trigger or ingress and exactly the environment its zod schema reads (test/infra/stack-env).
// stack.ts builds the shared pieces (identities, stores, env, grants) and passes them in.
import { join } from 'node:path';
import type * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import type { StackConfig } from './config.ts';
import type { ArtifactStore } from './components/artifact-store.ts';
import type { Env, SecretEnv, VpcEgress } from './components/env.ts';
import type { Firestore } from './components/firestore.ts';
import { planPools, type DbClient } from './pools.ts';
import { EventFunction, HttpFunction } from './components/functions.ts';
import type { Identities } from './components/identities.ts';
import type { Registry } from './components/registry.ts';
import type { StoredSecret } from './components/secrets.ts';
import { SweepSchedule } from './components/sweep-schedule.ts';
import type { AccountKey } from './roles.ts';
import { uploadBundle } from './source.ts';

export interface FunctionsArgs {
  cfg: Readonly<StackConfig>;
  /** The project's number, for Cloud Run's deterministic service URLs. */
  projectNumber: pulumi.Input<string>;
  ids: Identities;
  registry: Registry;
  store: ArtifactStore;
  firestore: Firestore;
  /** The Gemini API key's secret, in api-key mode. */
  gemini?: StoredSecret;
  /** Variables every deployable shares (project, bucket, lease...). */
  common: Env;
  /** The summary queue's settings, for the enqueuers and the handler. */
  tasksEnv: Env;
  summaryTaskName: string;
  dataSecrets: SecretEnv;
  vpc: VpcEgress;
  /** The enabled APIs: nothing is declared before them. */
  apis: pulumi.Resource[];
  /** Options making a deployable wait for its account's grants (secrets are checked at deploy). */
  deployAfter: (...keys: (AccountKey | 'gcs-agent' | 'eventarc-agent')[]) => pulumi.CustomResourceOptions;
}

export interface StackFunctions {
  summaryTask: HttpFunction;
  api: HttpFunction;
  summarize: EventFunction;
  sync: HttpFunction;
  sweep: HttpFunction;
  sweepUrl: pulumi.Output<string>;
  sweepJob: gcp.cloudscheduler.Job;
}

export function createFunctions(a: FunctionsArgs): StackFunctions {
  const { cfg, ids, registry, store, firestore, gemini, common, tasksEnv, dataSecrets, deployAfter } = a;
  const pools = planPools(cfg);
  const pool = (k: DbClient) => String(pools.sizes[k]);
  const { project, region, prefix } = cfg;
  const summaryTaskName = a.summaryTaskName;
  const geminiEnv = (mode: string): Env => ({
    GEMINI_MODE: mode,
    GEMINI_MODEL: cfg.gemini.model,
    GEMINI_LOCATION: cfg.gemini.location,
  });
  const bundleOpts = { dependsOn: a.apis };
  const source = (fn: string) => ({
    bucket: store.sourceBucket.name,
    object: uploadBundle(`fn-${fn}`, { bucket: store.sourceBucket.name, dir: join(cfg.functionsDir, fn) }, bundleOpts)
      .name,
  });
  const summarizeSource = source('summarize');
  const fnCommon = (key: AccountKey) => ({
    region,
    project,
    serviceAccountEmail: ids.email(key),
    buildServiceAccountId: ids.accounts['functions-build'].name,
    dockerRepository: registry.functionImages.id,
  });
  const vpc = () => a.vpc;

  const summaryTask = new HttpFunction(
    'summary-task',
    {
      ...fnCommon('summary-task'),
      functionName: summaryTaskName,
      entryPoint: 'summarizeTask',
      source: summarizeSource,
      public: false,
      memory: '1Gi',
      cpu: '1',
      concurrency: cfg.summaries.maxConcurrent,
      maxInstances: cfg.functions.summaryTask,
      // Map-reduce over a long article can take a few model calls; Cloud Tasks waits up to 10 min for HTTP targets.
      timeoutSeconds: 540,
      env: { ...common, ...geminiEnv(cfg.gemini.mode), ...tasksEnv, DB_POOL_SIZE: pool('summary-task') },
      secretEnv: {
        DATABASE_URL: dataSecrets.DATABASE_URL,
        ...(gemini ? { GEMINI_API_KEY: { secret: gemini.secretId, version: gemini.versionNumber } } : {}),
      },
      vpc: vpc(),
    },
    deployAfter('summary-task'),
  );

  const api = new HttpFunction(
    'api',
    {
      ...fnCommon('api'),
      functionName: `${prefix}-api`,
      entryPoint: 'api',
      source: source('api'),
      public: true,
      memory: '512Mi',
      cpu: '1',
      concurrency: 40,
      maxInstances: cfg.api.maxInstances,
      timeoutSeconds: 60,
      env: {
        ...common,
        DB_POOL_SIZE: pool('api'),
        // The key cache's LISTEN connection is one more per instance: on only when the tier has room (pools.ts).
        API_KEY_CACHE: pools.apiKeyCache ? 'on' : 'off',
        API_KEYS_REQUIRED: 'true',
        RATE_LIMIT_PER_MINUTE: String(cfg.api.rateLimitPerMinute),
        HOST: '0.0.0.0',
        ...(cfg.api.idTokenAudience ? { GOOGLE_ID_TOKEN_AUDIENCE: cfg.api.idTokenAudience } : {}),
        ...(cfg.api.allowedEmails ? { GOOGLE_ID_TOKEN_ALLOWED_EMAILS: cfg.api.allowedEmails } : {}),
        // Firebase ID tokens (the mobile app, the web app's Google sign-in) are issued for this project.
        FIREBASE_PROJECT_ID: project,
        ...(cfg.api.firebaseWebApiKey ? { FIREBASE_WEB_API_KEY: cfg.api.firebaseWebApiKey } : {}),
        ...(cfg.api.firebaseAuthDomain ? { FIREBASE_AUTH_DOMAIN: cfg.api.firebaseAuthDomain } : {}),
        // POST /archives/{id}/summary only enqueues (shared/jobs/summary-request.ts): no Gemini settings.
        ...tasksEnv,
      },
      secretEnv: dataSecrets,
      vpc: vpc(),
    },
    deployAfter('api'),
  );

  const summarize = new EventFunction(
    'summarize',
    {
      ...fnCommon('summarize'),
      functionName: `${prefix}-summarize`,
      entryPoint: 'summarize',
      source: summarizeSource,
      memory: '512Mi',
      cpu: '1',
      concurrency: 10,
      maxInstances: cfg.functions.summarize,
      timeoutSeconds: 60,
      // The dispatcher only enqueues: Gemini off keeps the API key out of it.
      env: { ...common, ...geminiEnv('off'), ...tasksEnv, DB_POOL_SIZE: pool('summarize') },
      secretEnv: { DATABASE_URL: dataSecrets.DATABASE_URL },
      vpc: vpc(),
      trigger: {
        eventType: 'google.cloud.storage.object.v1.finalized',
        filters: [{ attribute: 'bucket', value: store.bucket.name }],
        serviceAccountEmail: ids.email('eventarc-trigger'),
      },
    },
    deployAfter('summarize', 'eventarc-trigger', 'gcs-agent', 'eventarc-agent'),
  );

  // sync is a CloudEvent function fed by a subscription we own (Google's recommended "direct Pub/Sub
  // trigger"): unlike an Eventarc-made subscription it gets our retry and dead-letter policy. The
  // Functions Framework turns the push body into a messagePublished CloudEvent; it reads the topic from
  // the /projects/P/topics/T path of the push endpoint.
  const sync = new HttpFunction(
    'sync',
    {
      ...fnCommon('sync'),
      functionName: `${prefix}-sync`,
      entryPoint: 'sync',
      source: source('sync'),
      public: false,
      memory: '256Mi',
      cpu: '1',
      concurrency: 10,
      maxInstances: cfg.functions.sync,
      timeoutSeconds: 60,
      env: {
        GOOGLE_CLOUD_PROJECT: project,
        LOG_LEVEL: 'info',
        FIRESTORE_DATABASE: firestore.database.name,
        DB_POOL_SIZE: pool('sync'),
      },
      secretEnv: { DATABASE_URL: dataSecrets.DATABASE_URL },
      vpc: vpc(),
    },
    deployAfter('sync'),
  );

  // The stuck-work sweeper, run by Cloud Scheduler with an OIDC token of its own account. The function
  // checks that token itself (SWEEP_AUDIENCE) on top of Cloud Run's IAM check, so its URL is needed in its
  // own environment: the deterministic Cloud Run URL form breaks the cycle, as for summary-task.
  const sweepName = `${prefix}-sweep`;
  const sweepUrl = pulumi.interpolate`https://${sweepName}-${a.projectNumber}.${region}.run.app`;
  const sweep = new HttpFunction(
    'sweep',
    {
      ...fnCommon('sweep'),
      functionName: sweepName,
      entryPoint: 'sweep',
      source: source('sweep'),
      public: false,
      memory: '256Mi',
      cpu: '1',
      // One sweep at a time is plenty; extendPendingLease makes overlapping runs harmless anyway.
      concurrency: 1,
      maxInstances: cfg.functions.sweep,
      timeoutSeconds: 120,
      env: {
        ...common,
        DB_POOL_SIZE: pool('sweep'),
        SWEEP_VERIFY_OIDC: 'true',
        SWEEP_AUDIENCE: sweepUrl,
        SWEEP_INVOKER_SA: ids.email('scheduler-invoker'),
        SWEEP_MAX_ATTEMPTS: String(cfg.sweep.maxAttempts),
      },
      secretEnv: { DATABASE_URL: dataSecrets.DATABASE_URL },
      vpc: vpc(),
    },
    deployAfter('sweep'),
  );
  const sweepSchedule = new SweepSchedule(
    'sweep-schedule',
    {
      prefix,
      region,
      schedule: cfg.sweep.schedule,
      timeZone: cfg.sweep.timeZone,
      url: sweepUrl,
      serviceAccountEmail: ids.email('scheduler-invoker'),
    },
    { dependsOn: [...a.apis, sweep] },
  );
  return { summaryTask, api, summarize, sync, sweep, sweepUrl, sweepJob: sweepSchedule.job };
}

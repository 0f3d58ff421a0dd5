// The whole HT Base deployment as one function of the typed stack config: builds every component, wires
// the environment of each deployable, grants exactly the roles in roles.ts and returns the stack outputs.
// index.ts calls it with the real config; the mocked tests call it directly.
import { join } from 'node:path';
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { TOPICS } from '../shared/core/messages.ts';
import { timings, type StackConfig } from './config.ts';
import { Apis } from './components/apis.ts';
import { ArtifactStore } from './components/artifact-store.ts';
import { Cache } from './components/cache.ts';
import { Database } from './components/database.ts';
import type { Env, SecretEnv, VpcEgress } from './components/env.ts';
import { Firestore } from './components/firestore.ts';
import { EventFunction, HttpFunction } from './components/functions.ts';
import { Identities } from './components/identities.ts';
import { Messaging } from './components/messaging.ts';
import { Network } from './components/network.ts';
import { PushWorker } from './components/push-worker.ts';
import { Registry } from './components/registry.ts';
import { StoredSecret } from './components/secrets.ts';
import { SweepSchedule } from './components/sweep-schedule.ts';
import { TaskQueue } from './components/task-queue.ts';
import { minimalRoles, SERVICE_AGENT_ROLES, type AccountKey, type Grant } from './roles.ts';
import { uploadBundle } from './source.ts';

/** Network tags: capture workers are fenced off the VPC by firewall (see Network); the rest is not. */
export const CAPTURE_TAG = 'htbase-capture';
export const APP_TAG = 'htbase-app';

export interface StackOutputs {
  apiUrl: pulumi.Output<string>;
  artifactsBucket: pulumi.Output<string>;
  topics: Record<string, pulumi.Output<string>>;
  browserUrl: pulumi.Output<string>;
  monolithUrl: pulumi.Output<string>;
  syncUrl: pulumi.Output<string>;
  summaryTaskUrl: pulumi.Output<string>;
  sweepUrl: pulumi.Output<string>;
  sweepJob: pulumi.Output<string>;
  tasksQueue: pulumi.Output<string>;
  databaseInstance: pulumi.Output<string>;
  imagesRepository: pulumi.Output<string>;
  serviceAccounts: Record<string, pulumi.Output<string>>;
}

export interface SecretsInput {
  /** Gemini API key (Pulumi secret config `htbase:geminiApiKey`); required when gemini.mode is api-key. */
  geminiApiKey?: pulumi.Input<string>;
}

export function createStack(cfg: Readonly<StackConfig>, secrets: SecretsInput = {}): StackOutputs {
  const { project, region, prefix } = cfg;
  const vertex = cfg.gemini.mode === 'vertex';
  const { runTimeoutSeconds, ackDeadlineSeconds } = timings(cfg);
  // Checked before any resource is declared, so a missing key never leaves a half-planned deployment.
  if (cfg.gemini.mode === 'api-key' && secrets.geminiApiKey === undefined) {
    throw new Error(
      'gemini.mode is api-key: set the key with `pulumi config set --secret htbase:geminiApiKey ...` (or use vertex / off)',
    );
  }

  const apis = new Apis('apis', { project, vertex });
  // Everything else waits for the APIs: a fresh project answers 403 "API not enabled" otherwise.
  const after = { dependsOn: apis.services };

  const ids = new Identities('ids', { prefix, project }, after);
  const net = new Network(
    'net',
    {
      prefix,
      region,
      subnetCidr: cfg.network.subnetCidr,
      psaPrefixLength: cfg.network.psaPrefixLength,
      captureTag: CAPTURE_TAG,
    },
    after,
  );
  const db = new Database(
    'db',
    {
      prefix,
      region,
      networkId: net.network.id,
      psaConnection: net.psaConnection,
      ...cfg.database,
      protect: cfg.protectData,
    },
    after,
  );
  const cache = new Cache(
    'cache',
    { prefix, region, networkId: net.network.id, psaConnection: net.psaConnection, ...cfg.redis },
    after,
  );
  const store = new ArtifactStore(
    'store',
    { project, prefix, region, ...cfg.artifacts, protect: cfg.protectData },
    after,
  );
  const registry = new Registry('registry', { prefix, region, project, keepVersions: 10 }, after);
  const tasks = new TaskQueue('tasks', { prefix, region, ...cfg.summaries }, after);
  const firestore = new Firestore(
    'firestore',
    { project, locationId: cfg.firestoreLocation, protect: cfg.protectData },
    after,
  );

  let gemini: StoredSecret | undefined;
  if (cfg.gemini.mode === 'api-key') {
    gemini = new StoredSecret(
      'gemini-key',
      { secretId: `${prefix}-gemini-api-key`, value: secrets.geminiApiKey! },
      after,
    );
  }

  // ---- IAM, part 1: grants on things that exist before the deployables (secrets must be readable at deploy).
  const project$ = gcp.organizations.getProjectOutput({ projectId: project }, after);
  const agents = {
    pubsub: pulumi.interpolate`serviceAccount:service-${project$.number}@gcp-sa-pubsub.iam.gserviceaccount.com`,
    // Looked up rather than spelled out: the lookup also makes Google create the agent in a new project.
    storage: pulumi.interpolate`serviceAccount:${gcp.storage.getProjectServiceAccountOutput({ project }, after).emailAddress}`,
  };
  const secretIds: Record<string, pulumi.Input<string>> = {
    'database-url': db.url.secret.id,
    'redis-url': cache.url.secret.id,
    ...(gemini ? { 'gemini-api-key': gemini.secret.id } : {}),
  };
  const roles = minimalRoles({ vertex });
  const granted = new Map<AccountKey, pulumi.Resource[]>();
  const grant = (who: string, member: pulumi.Input<string>, g: Grant, target: Targets): pulumi.Resource | undefined => {
    const [kind, key] = g.on.includes(':') ? (g.on.split(/:(.*)/s) as [string, string]) : [g.on, ''];
    const rname = `iam-${who}-${g.role.replace('roles/', '').replace(/\./g, '-')}-${g.on.replace(':', '-')}`;
    const base = { role: g.role, member };
    const o = { dependsOn: apis.services };
    switch (kind) {
      case 'project':
        return new gcp.projects.IAMMember(rname, { project, ...base }, o);
      case 'bucket':
        return new gcp.storage.BucketIAMMember(rname, { bucket: need(target.buckets[key], g), ...base }, o);
      case 'secret':
        return new gcp.secretmanager.SecretIamMember(rname, { secretId: need(target.secrets[key], g), ...base }, o);
      case 'queue':
        return new gcp.cloudtasks.QueueIamMember(
          rname,
          { name: need(target.queues[key], g), location: region, ...base },
          o,
        );
      case 'repo':
        return new gcp.artifactregistry.RepositoryIamMember(
          rname,
          { repository: need(target.repos[key], g), location: region, ...base },
          o,
        );
      case 'sa':
        return new gcp.serviceaccount.IAMMember(
          rname,
          { serviceAccountId: ids.accounts[key as AccountKey].name, ...base },
          o,
        );
      case 'topic':
        return target.topics
          ? new gcp.pubsub.TopicIAMMember(rname, { topic: need(target.topics[key], g), ...base }, o)
          : undefined;
      case 'subscription':
        return target.subscriptions
          ? new gcp.pubsub.SubscriptionIAMMember(
              rname,
              { subscription: need(target.subscriptions[key], g), ...base },
              o,
            )
          : undefined;
      case 'run':
        return target.run
          ? new gcp.cloudrunv2.ServiceIamMember(
              rname,
              { project, location: region, name: need(target.run[key], g), ...base },
              o,
            )
          : undefined;
      default:
        throw new Error(`roles.ts: unknown scope ${g.on}`);
    }
  };
  const early: Targets = {
    buckets: { artifacts: store.bucket.name, 'fn-source': store.sourceBucket.name },
    secrets: secretIds,
    queues: { summaries: tasks.queue.name },
    repos: { functions: registry.functionImages.name },
  };
  const lateScopes = /^(topic|subscription|run):/;
  for (const [key, list] of Object.entries(roles) as [AccountKey, Grant[]][]) {
    const member = pulumi.interpolate`serviceAccount:${ids.email(key)}`;
    granted.set(
      key,
      list.filter((g) => !lateScopes.test(g.on)).map((g) => grant(key, member, g, early)!),
    );
  }
  const storageAgentGrants = SERVICE_AGENT_ROLES.storage.map((g) => grant('gcs-agent', agents.storage, g, early)!);

  // ---- Deployables.
  const vpc = (tags: string[]): VpcEgress => ({ network: net.network.id, subnetwork: net.subnet.id, tags });
  const dataSecrets: SecretEnv = {
    DATABASE_URL: { secret: db.url.secretId, version: db.url.versionNumber },
    REDIS_URL: { secret: cache.url.secretId, version: cache.url.versionNumber },
  };
  const common: Env = {
    GOOGLE_CLOUD_PROJECT: project,
    LOG_LEVEL: 'info',
    ARTIFACTS_BUCKET: store.bucket.name,
    // A claim outlives the longest request Cloud Run allows it, so the sweeper never steals a live capture.
    LEASE_SECONDS: String(runTimeoutSeconds + 60),
  };
  // The task handler's URL is needed by itself (its config requires it) and by who enqueues, before it
  // exists: Cloud Run's deterministic URL form https://SERVICE-PROJECT_NUMBER.REGION.run.app breaks the cycle.
  // Tasks carry an OIDC token for it; the audience defaults to this URL.
  const summaryTaskName = `${prefix}-summary-task`;
  const summaryTaskUrl = pulumi.interpolate`https://${summaryTaskName}-${project$.number}.${region}.run.app`;
  const tasksEnv: Env = {
    CLOUD_TASKS_QUEUE: tasks.queue.name,
    CLOUD_TASKS_LOCATION: region,
    SUMMARY_TASK_URL: summaryTaskUrl,
    SUMMARY_TASK_SERVICE_ACCOUNT: ids.email('tasks-invoker'),
    SUMMARY_TASK_MAX_ATTEMPTS: String(cfg.summaries.maxAttempts),
  };
  const geminiEnv = (mode: string): Env => ({
    GEMINI_MODE: mode,
    GEMINI_MODEL: cfg.gemini.model,
    GEMINI_LOCATION: cfg.gemini.location,
  });

  const bundleOpts = { dependsOn: apis.services };
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
  const deployAfter = (...keys: (AccountKey | 'gcs-agent')[]) => ({
    dependsOn: [
      ...apis.services,
      ...(granted.get('functions-build') ?? []),
      ...keys.flatMap((k) => (k === 'gcs-agent' ? storageAgentGrants : (granted.get(k) ?? []))),
    ],
  });

  const workerCommon = (key: 'browser' | 'monolith', c: StackConfig['browser']) => ({
    serviceName: `${prefix}-${key}`,
    region,
    serviceAccountEmail: ids.email(key),
    ...c,
    timeoutSeconds: runTimeoutSeconds,
    audience: `${prefix}-${key}`,
    secretEnv: dataSecrets,
    vpc: vpc([CAPTURE_TAG]),
    env: {
      ...common,
      PUBSUB_VERIFY_OIDC: 'true',
      PUBSUB_AUDIENCE: `${prefix}-${key}`,
      PUBSUB_INVOKER_SA: ids.email('pubsub-invoker'),
      CAPTURE_TIMEOUT_MS: String(cfg.captureTimeoutSeconds * 1000),
      // Cloud Run sends SIGKILL 10 s after SIGTERM.
      SHUTDOWN_GRACE_MS: '8000',
      HOST: '0.0.0.0',
    },
  });
  const browser = new PushWorker(
    'browser',
    {
      ...workerCommon('browser', cfg.browser),
      image: cfg.browserImage,
      minInstances: cfg.browser.minInstances,
      maxInstances: cfg.browser.maxInstances,
    },
    deployAfter('browser'),
  );
  const monolith = new PushWorker(
    'monolith',
    {
      ...workerCommon('monolith', cfg.monolith),
      image: cfg.monolithImage,
      minInstances: cfg.monolith.minInstances,
      maxInstances: cfg.monolith.maxInstances,
    },
    deployAfter('monolith'),
  );

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
      maxInstances: 5,
      // Map-reduce over a long article can take a few model calls; Cloud Tasks waits up to 10 min for HTTP targets.
      timeoutSeconds: 540,
      env: { ...common, ...geminiEnv(cfg.gemini.mode), ...tasksEnv },
      secretEnv: {
        DATABASE_URL: dataSecrets.DATABASE_URL,
        ...(gemini ? { GEMINI_API_KEY: { secret: gemini.secretId, version: gemini.versionNumber } } : {}),
      },
      vpc: vpc([APP_TAG]),
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
        API_KEYS_REQUIRED: 'true',
        RATE_LIMIT_PER_MINUTE: String(cfg.api.rateLimitPerMinute),
        HOST: '0.0.0.0',
        ...(cfg.api.idTokenAudience ? { GOOGLE_ID_TOKEN_AUDIENCE: cfg.api.idTokenAudience } : {}),
        ...(cfg.api.allowedEmails ? { GOOGLE_ID_TOKEN_ALLOWED_EMAILS: cfg.api.allowedEmails } : {}),
        ...tasksEnv,
        // POST /archives/{id}/summary runs the same service; the API never calls the model itself.
        ...geminiEnv('off'),
      },
      secretEnv: dataSecrets,
      vpc: vpc([APP_TAG]),
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
      maxInstances: 10,
      timeoutSeconds: 60,
      // The dispatcher only enqueues: Gemini off keeps the API key out of it.
      env: { ...common, ...geminiEnv('off'), ...tasksEnv },
      secretEnv: { DATABASE_URL: dataSecrets.DATABASE_URL },
      vpc: vpc([APP_TAG]),
      trigger: {
        eventType: 'google.cloud.storage.object.v1.finalized',
        filters: [{ attribute: 'bucket', value: store.bucket.name }],
        serviceAccountEmail: ids.email('eventarc-trigger'),
      },
    },
    deployAfter('summarize', 'eventarc-trigger', 'gcs-agent'),
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
      maxInstances: 10,
      timeoutSeconds: 60,
      env: { GOOGLE_CLOUD_PROJECT: project, LOG_LEVEL: 'info', FIRESTORE_DATABASE: firestore.database.name },
      secretEnv: { DATABASE_URL: dataSecrets.DATABASE_URL },
      vpc: vpc([APP_TAG]),
    },
    deployAfter('sync'),
  );

  // The stuck-work sweeper, run by Cloud Scheduler with an OIDC token of its own account. The function
  // checks that token itself (SWEEP_AUDIENCE) on top of Cloud Run's IAM check, so its URL is needed in its
  // own environment: the deterministic Cloud Run URL form breaks the cycle, as for summary-task.
  const sweepName = `${prefix}-sweep`;
  const sweepUrl = pulumi.interpolate`https://${sweepName}-${project$.number}.${region}.run.app`;
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
      maxInstances: 2,
      timeoutSeconds: 120,
      env: {
        ...common,
        SWEEP_VERIFY_OIDC: 'true',
        SWEEP_AUDIENCE: sweepUrl,
        SWEEP_INVOKER_SA: ids.email('scheduler-invoker'),
        SWEEP_MAX_ATTEMPTS: String(cfg.sweep.maxAttempts),
      },
      secretEnv: { DATABASE_URL: dataSecrets.DATABASE_URL },
      vpc: vpc([APP_TAG]),
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
    { dependsOn: [...apis.services, sweep] },
  );

  // ---- Messaging: needs the receivers' URLs.
  const workerTarget = (w: PushWorker, key: string, path: string) => ({
    endpoint: pulumi.interpolate`${w.url}${path}`,
    audience: `${prefix}-${key}`,
    ackDeadlineSeconds,
  });
  const messaging = new Messaging(
    'messaging',
    {
      invokerEmail: ids.email('pubsub-invoker'),
      maxDeliveryAttempts: cfg.maxDeliveryAttempts,
      captureBrowser: workerTarget(browser, 'browser', '/pubsub/push'),
      captureBrowserDead: workerTarget(browser, 'browser', '/pubsub/dead-letter'),
      captureMonolith: workerTarget(monolith, 'monolith', '/pubsub/push'),
      captureMonolithDead: workerTarget(monolith, 'monolith', '/pubsub/dead-letter'),
      articleChanged: {
        endpoint: pulumi.interpolate`${sync.url}/projects/${project}/topics/${TOPICS.articleChanged}`,
        audience: sync.url,
        ackDeadlineSeconds: 60,
      },
    },
    after,
  );

  // ---- IAM, part 2: grants on topics, subscriptions and the deployables themselves.
  const late: Targets = {
    ...early,
    topics: Object.fromEntries(Object.entries(messaging.topics).map(([k, t]) => [k, t.name])),
    subscriptions: Object.fromEntries(Object.entries(messaging.subscriptions).map(([k, s]) => [k, s.name])),
    run: {
      browser: browser.service.name,
      monolith: monolith.service.name,
      sync: sync.serviceName,
      'summary-task': summaryTask.serviceName,
      summarize: summarize.serviceName,
      api: api.serviceName,
      sweep: sweep.serviceName,
    },
  };
  for (const [key, list] of Object.entries(roles) as [AccountKey, Grant[]][]) {
    const member = pulumi.interpolate`serviceAccount:${ids.email(key)}`;
    for (const g of list.filter((x) => lateScopes.test(x.on))) grant(key, member, g, late);
  }
  for (const g of SERVICE_AGENT_ROLES.pubsub) grant('pubsub-agent', agents.pubsub, g, late);

  return {
    apiUrl: api.url,
    artifactsBucket: store.bucket.name,
    topics: Object.fromEntries(Object.entries(messaging.topics).map(([k, t]) => [k, t.name])),
    browserUrl: browser.url,
    monolithUrl: monolith.url,
    syncUrl: sync.url,
    summaryTaskUrl: summaryTask.url,
    sweepUrl,
    sweepJob: sweepSchedule.job.name,
    tasksQueue: tasks.queue.id,
    databaseInstance: db.instance.connectionName,
    imagesRepository: registry.imagesUrl,
    serviceAccounts: Object.fromEntries(Object.keys(ids.accounts).map((k) => [k, ids.email(k as AccountKey)])),
  };
}

interface Targets {
  buckets: Record<string, pulumi.Input<string>>;
  secrets: Record<string, pulumi.Input<string>>;
  queues: Record<string, pulumi.Input<string>>;
  repos: Record<string, pulumi.Input<string>>;
  topics?: Record<string, pulumi.Input<string>>;
  subscriptions?: Record<string, pulumi.Input<string>>;
  run?: Record<string, pulumi.Input<string>>;
}

function need<T>(v: T | undefined, g: Grant): T {
  if (v === undefined) throw new Error(`roles.ts grants ${g.role} on ${g.on}, which this stack does not have`);
  return v;
}

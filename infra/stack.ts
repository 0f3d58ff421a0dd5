// The whole HT Base deployment as one function of the typed stack config: builds every component and the
// workers, wires the shared environment, grants exactly the roles in roles.ts (grants.ts), declares the
// functions (app-functions.ts) and returns the stack outputs. index.ts calls it; the mocked tests too.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { TOPICS } from '../shared/core/messages.ts';
import { names, timings, type StackConfig } from './config.ts';
import { Apis } from './components/apis.ts';
import { ArtifactStore } from './components/artifact-store.ts';
import { Cache } from './components/cache.ts';
import { Database } from './components/database.ts';
import type { Env, SecretEnv, VpcEgress } from './components/env.ts';
import { Firestore } from './components/firestore.ts';
import { Identities } from './components/identities.ts';
import { Messaging } from './components/messaging.ts';
import { Network } from './components/network.ts';
import { PropagationWait } from './components/propagation-wait.ts';
import { PushWorker } from './components/push-worker.ts';
import { Registry } from './components/registry.ts';
import { ServiceAgents } from './components/service-agents.ts';
import { StoredSecret } from './components/secrets.ts';
import { TaskQueue } from './components/task-queue.ts';
import { minimalRoles, SERVICE_AGENT_ROLES, type AccountKey } from './roles.ts';
import { createFunctions } from './app-functions.ts';
import { planPools } from './pools.ts';
import { createGranter, grantPhase, type Targets } from './grants.ts';

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
      redis: cfg.redis.enabled,
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
  // Memorystore only on request (htbase:redis): without REDIS_URL rate limits count in Cloud SQL (issue 18).
  const { enabled: redisOn, ...redisSize } = cfg.redis;
  const cache = redisOn
    ? new Cache(
        'cache',
        { prefix, region, networkId: net.network.id, psaConnection: net.psaConnection, ...redisSize },
        after,
      )
    : undefined;
  const store = new ArtifactStore(
    'store',
    { project, prefix, region, ...cfg.artifacts, protect: cfg.protectData },
    after,
  );
  const registry = new Registry('registry', { prefix, region, project, keepVersions: 10 }, after);
  const tasks = new TaskQueue('tasks', { prefix, region, ...cfg.summaries }, after);
  const firestore = new Firestore(
    'firestore',
    { project, locationId: cfg.firestoreLocation, protect: cfg.protectData, databaseId: names(cfg).firestoreDatabase },
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

  // Logged-in capture: the AES-256 key sealing users' cookies, made once and kept in Secret Manager (API and workers).
  const cookieKey = new StoredSecret(
    'cookie-key',
    {
      secretId: `${prefix}-cookie-key`,
      value: new random.RandomBytes('cookie-key-bytes', { length: 32 }, after).base64,
    },
    after,
  );

  // ---- IAM, part 1: grants on things that exist before the deployables (secrets must be readable at deploy).
  const project$ = gcp.organizations.getProjectOutput({ projectId: project }, after);
  const serviceAgents = new ServiceAgents('agents', { project }, after);
  const agents = {
    pubsub: serviceAgents.pubsub.member,
    // Looked up rather than spelled out: the lookup also makes Google create the agent in a new project.
    storage: pulumi.interpolate`serviceAccount:${gcp.storage.getProjectServiceAccountOutput({ project }, after).emailAddress}`,
  };
  const secretIds: Record<string, pulumi.Input<string>> = {
    'database-url': db.url.secret.id,
    ...(cache ? { 'redis-url': cache.url.secret.id } : {}),
    'cookie-key': cookieKey.secret.id,
    ...(gemini ? { 'gemini-api-key': gemini.secret.id } : {}),
  };
  const roles = minimalRoles({ vertex, redis: redisOn });
  const grant = createGranter({ project, region, projectNumber: project$.number, ids, dependsOn: apis.services });
  const early: Targets = {
    buckets: { artifacts: store.bucket.name, 'fn-source': store.sourceBucket.name },
    secrets: secretIds,
    queues: { summaries: tasks.queue.name },
    repos: { functions: registry.functionImages.name },
  };
  const granted = grantPhase(grant, roles, ids, 'early', early);
  const storageAgentGrants = SERVICE_AGENT_ROLES.storage.map((g) => grant('gcs-agent', agents.storage, g, early)!);
  // IAM takes minutes to apply: the deployables (their builds read sources, their revisions read secrets) wait
  // once after the early grants are made, so the first `pulumi up` succeeds without a second run.
  const earlyGrants = [...[...granted.values()].flat(), ...storageAgentGrants];
  const iamWait = new PropagationWait(
    'iam-propagation',
    { seconds: cfg.iamPropagationSeconds, triggers: earlyGrants.map((r) => (r as pulumi.CustomResource).urn) },
    { dependsOn: earlyGrants },
  );

  // ---- Deployables.
  const vpc = (tags: string[]): VpcEgress => ({ network: net.network.id, subnetwork: net.subnet.id, tags });
  const dataSecrets: SecretEnv = {
    DATABASE_URL: { secret: db.url.secretId, version: db.url.versionNumber },
    ...(cache ? { REDIS_URL: { secret: cache.url.secretId, version: cache.url.versionNumber } } : {}),
    COOKIE_ENCRYPTION_KEY: { secret: cookieKey.secretId, version: cookieKey.versionNumber },
  };
  const common: Env = {
    GOOGLE_CLOUD_PROJECT: project,
    LOG_LEVEL: 'info',
    ARTIFACTS_BUCKET: store.bucket.name,
    // A claim outlives the longest request Cloud Run allows it, so the sweeper never steals a live capture.
    LEASE_SECONDS: String(runTimeoutSeconds + 60),
    // Topics carry the stack prefix; the publisher prepends it to the logical names of shared/core/messages.ts.
    PUBSUB_TOPIC_PREFIX: names(cfg).pubsubPrefix,
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
  const deployAfter = (...keys: (AccountKey | 'gcs-agent' | 'eventarc-agent')[]) => ({
    dependsOn: [
      ...apis.services,
      ...(granted.get('functions-build') ?? []),
      iamWait,
      ...keys.flatMap((k) =>
        k === 'gcs-agent'
          ? storageAgentGrants
          : k === 'eventarc-agent'
            ? [serviceAgents.eventarc]
            : (granted.get(k) ?? []),
      ),
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
      DB_POOL_SIZE: String(planPools(cfg).sizes[key]),
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

  const { summaryTask, api, summarize, sync, sweep, sweepUrl, sweepJob } = createFunctions({
    cfg,
    projectNumber: project$.number,
    ids,
    registry,
    store,
    firestore,
    gemini,
    common,
    tasksEnv,
    summaryTaskName,
    dataSecrets,
    vpc: vpc([APP_TAG]),
    apis: apis.services,
    deployAfter,
  });

  // ---- Messaging: needs the receivers' URLs.
  const workerTarget = (w: PushWorker, key: string, path: string) => ({
    endpoint: pulumi.interpolate`${w.url}${path}`,
    audience: `${prefix}-${key}`,
    ackDeadlineSeconds,
  });
  const messaging = new Messaging(
    'messaging',
    {
      namePrefix: names(cfg).pubsubPrefix,
      invokerEmail: ids.email('pubsub-invoker'),
      maxDeliveryAttempts: cfg.maxDeliveryAttempts,
      captureBrowser: workerTarget(browser, 'browser', '/pubsub/push'),
      captureBrowserDead: workerTarget(browser, 'browser', '/pubsub/dead-letter'),
      captureMonolith: workerTarget(monolith, 'monolith', '/pubsub/push'),
      captureMonolithDead: workerTarget(monolith, 'monolith', '/pubsub/dead-letter'),
      articleChanged: {
        endpoint: pulumi.interpolate`${sync.url}/projects/${project}/topics/${names(cfg).pubsubPrefix}${TOPICS.articleChanged}`,
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
  grantPhase(grant, roles, ids, 'late', late);
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
    sweepJob: sweepJob.name,
    tasksQueue: tasks.queue.id,
    databaseInstance: db.instance.connectionName,
    imagesRepository: registry.imagesUrl,
    serviceAccounts: Object.fromEntries(Object.keys(ids.accounts).map((k) => [k, ids.email(k as AccountKey)])),
  };
}

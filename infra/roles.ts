// The one documented list of who may do what: every service account HT Base creates (one per deployable,
// plus the identities that invoke them) and every role it holds, with the scope it holds it on.
// stack.ts grants exactly these and the mocked tests check that the deployed grants equal this list.
// No basic roles (owner/editor/viewer) anywhere; project-wide grants only where GCP has no narrower scope.

/** Logical service accounts; the account id is `${prefix}-${key}`. */
export const SERVICE_ACCOUNTS = {
  api: 'functions/api: the HTTP API',
  browser: 'containers/browser: Chromium captures (singlefile, pdf, screenshot, readable)',
  monolith: 'containers/monolith: monolith captures',
  summarize: 'functions/summarize: Eventarc object-finalized handler that enqueues summary tasks',
  'summary-task': 'functions/summarize summarizeTask: the Cloud Tasks handler that calls Gemini',
  sync: 'functions/sync: article-changed to the Firestore replica',
  sweep: 'functions/sweep: republishes artifacts stuck past their lease',
  'pubsub-invoker': 'identity in the OIDC token of every Pub/Sub push (workers, sync)',
  'tasks-invoker': 'identity in the OIDC token of every Cloud Tasks request (summary-task)',
  'eventarc-trigger': 'identity of the Eventarc trigger that delivers storage events to summarize',
  'scheduler-invoker': 'identity in the OIDC token of the Cloud Scheduler job that invokes sweep',
  'functions-build': 'Cloud Build identity that builds the function bundles into images',
} as const;
export type AccountKey = keyof typeof SERVICE_ACCOUNTS;

/**
 * Where a role is granted. `project`; a named resource of the stack: `bucket:artifacts`,
 * `bucket:fn-source`, `topic:<name>`, `subscription:<name>`, `secret:<database-url|redis-url|cookie-key|gemini-api-key>`,
 * `queue:summaries`, `repo:functions`, `run:<service or function key>`, `sa:<account key>`, and `gcf-sources`:
 * the project, under an IAM condition that limits it to Google's `gcf-v2-sources-{number}-{region}` bucket
 * (Cloud Functions creates that bucket on the first deploy, so there is no bucket to grant on beforehand).
 */
export type Scope = string;
export interface Grant {
  role: string;
  on: Scope;
  /** Why this deployable needs it; shown in the README table. */
  why: string;
}

const dbSecret = (why = 'DATABASE_URL'): Grant => ({
  role: 'roles/secretmanager.secretAccessor',
  on: 'secret:database-url',
  why,
});
const redisSecret: Grant = { role: 'roles/secretmanager.secretAccessor', on: 'secret:redis-url', why: 'REDIS_URL' };
const cookieSecret: Grant = {
  role: 'roles/secretmanager.secretAccessor',
  on: 'secret:cookie-key',
  why: 'COOKIE_ENCRYPTION_KEY (logged-in capture)',
};
const publishChanged: Grant = {
  role: 'roles/pubsub.publisher',
  on: 'topic:article-changed',
  why: 'publish article-changed on every state change',
};

/**
 * Minimal roles per account; `vertex` adds the one role Gemini-through-Vertex needs; `redis` (default on) the
 * REDIS_URL secret, which exists only when the stack makes Memorystore.
 */
export function minimalRoles(opts: { vertex: boolean; redis?: boolean }): Record<AccountKey, Grant[]> {
  const redis = opts.redis === false ? [] : [redisSecret];
  const worker: Grant[] = [
    dbSecret(),
    ...redis,
    cookieSecret,
    // objectUser, not objectCreator: a retried capture overwrites its object, which needs delete.
    { role: 'roles/storage.objectUser', on: 'bucket:artifacts', why: 'stream artifacts to articles/{id}/...' },
    publishChanged,
  ];
  return {
    api: [
      dbSecret(),
      ...redis,
      cookieSecret,
      { role: 'roles/pubsub.publisher', on: 'topic:capture-browser', why: 'publish capture jobs' },
      { role: 'roles/pubsub.publisher', on: 'topic:capture-monolith', why: 'publish capture jobs' },
      publishChanged,
      { role: 'roles/storage.objectUser', on: 'bucket:artifacts', why: "read metadata, delete an archive's objects" },
      {
        role: 'roles/iam.serviceAccountTokenCreator',
        on: 'sa:api',
        why: 'signBlob as itself for V4 signed URLs (no key file)',
      },
      { role: 'roles/cloudtasks.enqueuer', on: 'queue:summaries', why: 'POST /archives/{id}/summary' },
      {
        role: 'roles/iam.serviceAccountUser',
        on: 'sa:tasks-invoker',
        why: 'attach the OIDC identity to tasks it creates',
      },
    ],
    browser: worker,
    monolith: worker,
    summarize: [
      dbSecret('idempotency on the event id, current summary'),
      { role: 'roles/storage.objectViewer', on: 'bucket:artifacts', why: 'read readable.json to hash the text' },
      { role: 'roles/cloudtasks.enqueuer', on: 'queue:summaries', why: 'create the dedup-named summary task' },
      {
        role: 'roles/iam.serviceAccountUser',
        on: 'sa:tasks-invoker',
        why: 'attach the OIDC identity to tasks it creates',
      },
    ],
    'summary-task': [
      dbSecret(),
      ...(opts.vertex
        ? []
        : [{ role: 'roles/secretmanager.secretAccessor', on: 'secret:gemini-api-key', why: 'GEMINI_API_KEY' }]),
      { role: 'roles/storage.objectViewer', on: 'bucket:artifacts', why: 'read the readable text' },
      publishChanged,
      ...(opts.vertex
        ? [{ role: 'roles/aiplatform.user', on: 'project', why: 'Gemini through Vertex AI (no narrower scope exists)' }]
        : []),
    ],
    sync: [
      dbSecret('read the current row'),
      { role: 'roles/datastore.user', on: 'project', why: 'write articles/{id} (Firestore IAM is project-wide)' },
    ],
    sweep: [
      dbSecret('find stuck artifacts, extend their lease, fail the hopeless ones'),
      { role: 'roles/pubsub.publisher', on: 'topic:capture-browser', why: 'republish stuck capture jobs' },
      { role: 'roles/pubsub.publisher', on: 'topic:capture-monolith', why: 'republish stuck capture jobs' },
      publishChanged,
    ],
    'scheduler-invoker': [{ role: 'roles/run.invoker', on: 'run:sweep', why: 'Cloud Scheduler calls the sweeper' }],
    'pubsub-invoker': [
      { role: 'roles/run.invoker', on: 'run:browser', why: 'push capture-browser and its dead letters' },
      { role: 'roles/run.invoker', on: 'run:monolith', why: 'push capture-monolith and its dead letters' },
      { role: 'roles/run.invoker', on: 'run:sync', why: 'push article-changed' },
    ],
    'tasks-invoker': [{ role: 'roles/run.invoker', on: 'run:summary-task', why: 'Cloud Tasks calls the handler' }],
    'eventarc-trigger': [
      { role: 'roles/eventarc.eventReceiver', on: 'project', why: 'receive storage events (project-wide by design)' },
      { role: 'roles/run.invoker', on: 'run:summarize', why: 'deliver the event to summarize' },
    ],
    'functions-build': [
      { role: 'roles/logging.logWriter', on: 'project', why: 'build logs' },
      { role: 'roles/artifactregistry.writer', on: 'repo:functions', why: 'push the built function images' },
      { role: 'roles/storage.objectViewer', on: 'bucket:fn-source', why: 'read the uploaded bundles' },
      {
        role: 'roles/storage.objectViewer',
        on: 'gcf-sources',
        why: 'read the copy of each bundle Cloud Functions stages in gcf-v2-sources-{number}-{region}',
      },
    ],
  };
}

/** Google-managed service agents the design needs extra roles for (members by project number). */
export const SERVICE_AGENT_ROLES = {
  pubsub: [
    { role: 'roles/pubsub.publisher', on: 'topic:capture-browser-dead', why: 'forward dead letters' },
    { role: 'roles/pubsub.publisher', on: 'topic:capture-monolith-dead', why: 'forward dead letters' },
    { role: 'roles/pubsub.publisher', on: 'topic:article-changed-dead', why: 'forward dead letters' },
    { role: 'roles/pubsub.subscriber', on: 'subscription:capture-browser-push', why: 'ack what it dead-letters' },
    { role: 'roles/pubsub.subscriber', on: 'subscription:capture-monolith-push', why: 'ack what it dead-letters' },
    { role: 'roles/pubsub.subscriber', on: 'subscription:article-changed-sync', why: 'ack what it dead-letters' },
    {
      role: 'roles/iam.serviceAccountTokenCreator',
      on: 'sa:pubsub-invoker',
      why: 'mint push OIDC tokens (needed in projects older than April 2021)',
    },
  ],
  storage: [
    {
      role: 'roles/pubsub.publisher',
      on: 'project',
      why: 'Cloud Storage events for Eventarc (Google requires project scope)',
    },
  ],
} satisfies Record<string, Grant[]>;

export const FORBIDDEN_ROLES = ['roles/owner', 'roles/editor', 'roles/viewer'];

/**
 * The deployer (`htbase-deployer`, the identity Cloud Build runs `pulumi up` as): predefined roles only, no
 * owner/editor. Keyed by the Pulumi resource-type prefix each role lets it manage; README's bootstrap loop grants
 * exactly these, and test/infra checks that every resource the stack declares is covered by one of them.
 */
export const DEPLOYER_ROLES: Record<string, string> = {
  'gcp:projects/service:': 'roles/serviceusage.serviceUsageAdmin',
  'gcp:projects/serviceIdentity:': 'roles/serviceusage.serviceUsageAdmin',
  'gcp:serviceaccount/account:': 'roles/iam.serviceAccountAdmin',
  'gcp:serviceaccount/iAMMember:': 'roles/iam.serviceAccountAdmin',
  'gcp:projects/iAMMember:': 'roles/resourcemanager.projectIamAdmin',
  'gcp:compute/network:': 'roles/compute.networkAdmin',
  'gcp:compute/subnetwork:': 'roles/compute.networkAdmin',
  'gcp:compute/globalAddress:': 'roles/compute.networkAdmin',
  'gcp:compute/firewall:': 'roles/compute.securityAdmin',
  'gcp:servicenetworking/': 'roles/servicenetworking.networksAdmin',
  'gcp:sql/': 'roles/cloudsql.admin',
  'gcp:redis/': 'roles/redis.admin',
  'gcp:storage/': 'roles/storage.admin',
  'gcp:pubsub/': 'roles/pubsub.admin',
  'gcp:cloudrunv2/': 'roles/run.admin',
  'gcp:cloudfunctionsv2/': 'roles/cloudfunctions.admin',
  'gcp:eventarc/': 'roles/eventarc.admin',
  'gcp:cloudtasks/': 'roles/cloudtasks.admin',
  'gcp:cloudscheduler/': 'roles/cloudscheduler.admin',
  'gcp:firestore/': 'roles/datastore.owner',
  'gcp:firebaserules/': 'roles/firebaserules.admin',
  'gcp:artifactregistry/': 'roles/artifactregistry.admin',
  'gcp:secretmanager/': 'roles/secretmanager.admin',
  // Not a resource type: acting as the runtime accounts it deploys, and writing its own build logs.
  'act-as': 'roles/iam.serviceAccountUser',
  logs: 'roles/logging.logWriter',
};

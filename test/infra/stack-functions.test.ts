// Mocked deployment, the Cloud Functions: api, summarize, summary-task and sync (triggers, ingress, invokers,
// bundles, egress), and the scheduler-driven stuck-work sweeper.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { one, ofType, PROJECT, PROJECT_NUMBER, recorded } from './mock-cloud.ts';
import {
  cfg,
  deploy,
  envOf,
  fn,
  GCP,
  invokers,
  minimalRoles,
  sa,
  secretEnvOf,
  service,
  validate,
} from './stack-fixture.ts';

let outputs: Record<string, unknown> = {};
before(async () => {
  outputs = await deploy();
});

describe('functions (Cloud Functions 2nd gen)', () => {
  test('api: HTTP, public only through its own auth (API keys required)', () => {
    const f = fn('api');
    assert.equal(f.inputs.buildConfig.entryPoint, 'api');
    assert.equal(f.inputs.serviceConfig.ingressSettings, 'ALLOW_ALL');
    assert.deepEqual(invokers('htbase-api'), ['allUsers']);
    assert.equal(envOf(f).API_KEYS_REQUIRED, 'true');
    assert.equal(f.inputs.serviceConfig.serviceAccountEmail, sa('api'));
  });

  test('allUsers is granted nowhere but the API', () => {
    const publicGrants = recorded.filter(
      (r) => /IamMember|IAMMember/.test(r.type) && /^all(Authenticated)?Users$/.test(r.inputs.member),
    );
    assert.deepEqual(
      publicGrants.map((r) => `${r.type} ${r.inputs.name}`),
      ['gcp:cloudrunv2/serviceIamMember:ServiceIamMember htbase-api'],
    );
  });

  test('summarize: Eventarc object-finalized trigger on the artifacts bucket, its own trigger identity, retried', () => {
    const f = fn('summarize');
    assert.equal(f.inputs.buildConfig.entryPoint, 'summarize');
    const t = f.inputs.eventTrigger;
    assert.equal(t.eventType, 'google.cloud.storage.object.v1.finalized');
    assert.deepEqual(t.eventFilters, [{ attribute: 'bucket', value: `${PROJECT}-htbase-artifacts` }]);
    assert.equal(t.serviceAccountEmail, sa('eventarc-trigger'));
    assert.equal(t.retryPolicy, 'RETRY_POLICY_RETRY');
    assert.equal(f.inputs.serviceConfig.ingressSettings, 'ALLOW_INTERNAL_ONLY');
    assert.deepEqual(invokers('htbase-summarize'), [`serviceAccount:${sa('eventarc-trigger')}`]);
    assert.equal(envOf(f).GEMINI_MODE, 'off', 'the dispatcher never calls the model');
  });

  test('summary task handler: HTTP target of Cloud Tasks, private, invoked only by the tasks identity', () => {
    const f = fn('summary-task');
    assert.equal(f.inputs.buildConfig.entryPoint, 'summarizeTask');
    assert.equal(f.inputs.serviceConfig.ingressSettings, 'ALLOW_INTERNAL_ONLY');
    assert.deepEqual(invokers('htbase-summary-task'), [`serviceAccount:${sa('tasks-invoker')}`]);
    // Both enqueuers and the handler agree on the target URL and the OIDC identity.
    const url = `https://htbase-summary-task-${PROJECT_NUMBER}.europe-west1.run.app`;
    for (const name of ['summarize', 'summary-task', 'api']) {
      assert.equal(envOf(fn(name)).SUMMARY_TASK_URL, url, name);
      assert.equal(envOf(fn(name)).SUMMARY_TASK_SERVICE_ACCOUNT, sa('tasks-invoker'), name);
      assert.equal(envOf(fn(name)).CLOUD_TASKS_QUEUE, 'htbase-summaries', name);
    }
    // summarize and summarizeTask come from one bundle.
    assert.equal(
      f.inputs.buildConfig.source.storageSource.object,
      fn('summarize').inputs.buildConfig.source.storageSource.object,
    );
  });

  test('sync: Pub/Sub-fed, private, only the push identity may invoke, reads Postgres and writes Firestore', () => {
    const f = fn('sync');
    assert.equal(f.inputs.buildConfig.entryPoint, 'sync');
    assert.equal(f.inputs.serviceConfig.ingressSettings, 'ALLOW_INTERNAL_ONLY');
    assert.deepEqual(invokers('htbase-sync'), [`serviceAccount:${sa('pubsub-invoker')}`]);
    assert.deepEqual(Object.keys(secretEnvOf(f)), ['DATABASE_URL']);
    assert.equal(envOf(f).FIRESTORE_DATABASE, `${cfg.prefix}-replica`);
  });

  test('all functions: Node 22, source from the private source bucket, own build identity, Direct VPC egress', () => {
    const objects = ofType(GCP('storage/bucketObject:BucketObject'));
    assert.deepEqual(objects.map((o) => o.inputs.name.replace(/-[0-9a-f]{16}\.zip$/, '')).sort(), [
      'fn-api',
      'fn-summarize',
      'fn-sweep',
      'fn-sync',
    ]);
    for (const f of ofType(GCP('cloudfunctionsv2/function:Function'))) {
      const b = f.inputs.buildConfig;
      assert.equal(b.runtime, 'nodejs22');
      assert.equal(b.source.storageSource.bucket, `${PROJECT}-htbase-fn-source`);
      assert.ok(objects.some((o) => o.inputs.name === b.source.storageSource.object));
      assert.equal(b.serviceAccount, `projects/${PROJECT}/serviceAccounts/${sa('functions-build')}`);
      assert.equal(b.dockerRepository, `projects/${PROJECT}/locations/europe-west1/repositories/htbase-functions`);
      assert.equal(f.inputs.serviceConfig.directVpcEgress, 'VPC_EGRESS_PRIVATE_RANGES_ONLY');
      assert.deepEqual(f.inputs.serviceConfig.directVpcNetworkInterfaces[0].tags, ['htbase-app']);
      assert.equal(f.inputs.serviceConfig.environmentVariables.GOOGLE_CLOUD_PROJECT, PROJECT);
    }
  });
});

describe('stuck-work sweeper', () => {
  const url = `https://htbase-sweep-${PROJECT_NUMBER}.europe-west1.run.app`;

  test('sweep: private HTTP function, invoked only by the scheduler identity, verifying its token itself', () => {
    const f = fn('sweep');
    assert.equal(f.inputs.buildConfig.entryPoint, 'sweep');
    assert.equal(
      f.inputs.serviceConfig.ingressSettings,
      'ALLOW_INTERNAL_ONLY',
      'Cloud Scheduler reaches internal ingress',
    );
    assert.deepEqual(invokers('htbase-sweep'), [`serviceAccount:${sa('scheduler-invoker')}`]);
    const env = envOf(f);
    assert.equal(env.SWEEP_VERIFY_OIDC, 'true');
    assert.equal(env.SWEEP_AUDIENCE, url);
    assert.equal(env.SWEEP_INVOKER_SA, sa('scheduler-invoker'));
    assert.equal(env.SWEEP_MAX_ATTEMPTS, String(cfg.sweep.maxAttempts));
    assert.ok(
      Number(env.SWEEP_MAX_ATTEMPTS) > cfg.maxDeliveryAttempts,
      'dead letters settle an artifact before the sweeper gives up on it',
    );
    assert.equal(
      env.LEASE_SECONDS,
      envOf(service('browser')).LEASE_SECONDS,
      'the same lease as the workers that hold it',
    );
    assert.deepEqual(Object.keys(secretEnvOf(f)), ['DATABASE_URL']);
    assert.equal(outputs.sweepUrl, url);
  });

  test('Cloud Scheduler runs it every few minutes: POST with an OIDC token of the scheduler account, audience = its URL', () => {
    const job = one(GCP('cloudscheduler/job:Job'), () => true);
    assert.equal(job.inputs.name, 'htbase-sweep');
    assert.equal(job.inputs.region, 'europe-west1');
    assert.equal(job.inputs.schedule, '*/5 * * * *');
    assert.equal(job.inputs.timeZone, 'Etc/UTC');
    const t = job.inputs.httpTarget;
    assert.equal(t.uri, url);
    assert.equal(t.httpMethod, 'POST');
    assert.deepEqual(t.oidcToken, { serviceAccountEmail: sa('scheduler-invoker'), audience: url });
    assert.equal(t.oauthToken, undefined, 'OIDC (Cloud Run), not an OAuth access token');
    assert.equal(job.inputs.retryConfig.retryCount, 1);
    assert.equal(outputs.sweepJob, 'htbase-sweep');
    // The audience the job signs for is exactly the one the function expects.
    assert.equal(envOf(fn('sweep')).SWEEP_AUDIENCE, t.oidcToken.audience);
  });

  test('the scheduler identity can do nothing but invoke the sweeper', () => {
    assert.deepEqual(minimalRoles({ vertex: false })['scheduler-invoker'], [
      { role: 'roles/run.invoker', on: 'run:sweep', why: 'Cloud Scheduler calls the sweeper' },
    ]);
    const grants = recorded.filter(
      (r) => /IamMember|IAMMember/.test(r.type) && r.inputs.member === `serviceAccount:${sa('scheduler-invoker')}`,
    );
    assert.deepEqual(
      grants.map((r) => `${r.inputs.role} ${r.inputs.name}`),
      ['roles/run.invoker htbase-sweep'],
    );
  });

  test('a schedule that is not unix-cron, or a give-up limit below the dead-letter limit, is refused', () => {
    assert.throws(() => validate({ ...cfg, sweep: { ...cfg.sweep, schedule: 'every 5 minutes' } }), /sweep\.schedule/);
    assert.throws(
      () => validate({ ...cfg, sweep: { ...cfg.sweep, maxAttempts: cfg.maxDeliveryAttempts } }),
      /sweep\.maxAttempts/,
    );
  });
});

// Mocked deployment of the whole infra program (Gemini in API-key mode): every resource of issue 7 exists
// with its intended settings, and the security properties hold (private workers, OIDC push, private bucket,
// private Cloud SQL, least-privilege service accounts equal to infra/roles.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { WorkerConfig } from '../../shared/core/config.ts';
import { SummarizeConfig } from '../../functions/summarize/config.ts';
import { SweepConfig } from '../../functions/sweep/config.ts';
import { TOPICS } from '../../shared/core/messages.ts';
import {
  fakeFunctionsDir,
  installMocks,
  one,
  ofType,
  PROJECT,
  PROJECT_NUMBER,
  recorded,
  secretValue,
  settle,
  value,
  type Recorded,
} from './mock-cloud.ts';

await installMocks();
const { createStack } = await import('../../infra/stack.ts');
const { defaults, validate, timings } = await import('../../infra/config.ts');
const { REQUIRED_APIS } = await import('../../infra/components/apis.ts');
const { minimalRoles, SERVICE_AGENT_ROLES, SERVICE_ACCOUNTS, FORBIDDEN_ROLES } = await import('../../infra/roles.ts');

const cfg = validate({
  ...defaults(PROJECT, 'europe-west1'),
  browserImage: 'europe-west1-docker.pkg.dev/p/htbase/browser@sha256:aaa',
  monolithImage: 'europe-west1-docker.pkg.dev/p/htbase/monolith@sha256:bbb',
  functionsDir: fakeFunctionsDir(),
  captureTimeoutSeconds: 150,
});
const { runTimeoutSeconds, ackDeadlineSeconds } = timings(cfg);
const sa = (key: string) => `${cfg.prefix}-${key}@${PROJECT}.iam.gserviceaccount.com`;
const GCP = (t: string) => `gcp:${t}`;

let outputs: Record<string, unknown> = {};
before(async () => {
  const out = createStack(cfg, { geminiApiKey: 'AIza-test-key' });
  outputs = Object.fromEntries(
    await Promise.all(Object.entries(out).map(async ([k, v]) => [k, await value(v as never)])),
  );
  await settle();
});

const service = (name: string) =>
  one(GCP('cloudrunv2/service:Service'), (r) => r.inputs.name === `${cfg.prefix}-${name}`);
const fn = (name: string) =>
  one(GCP('cloudfunctionsv2/function:Function'), (r) => r.inputs.name === `${cfg.prefix}-${name}`);
const envOf = (r: Recorded): Record<string, string> =>
  r.type.includes('cloudrunv2')
    ? Object.fromEntries(
        r.inputs.template.containers[0].envs
          .filter((e: any) => e.value !== undefined)
          .map((e: any) => [e.name, e.value]),
      )
    : r.inputs.serviceConfig.environmentVariables;
const secretEnvOf = (r: Recorded): Record<string, string> =>
  r.type.includes('cloudrunv2')
    ? Object.fromEntries(
        r.inputs.template.containers[0].envs
          .filter((e: any) => e.valueSource)
          .map((e: any) => [e.name, e.valueSource.secretKeyRef.secret]),
      )
    : Object.fromEntries(r.inputs.serviceConfig.secretEnvironmentVariables.map((e: any) => [e.key, e.secret]));
const invokers = (serviceName: string) =>
  ofType(GCP('cloudrunv2/serviceIamMember:ServiceIamMember'))
    .filter((r) => r.inputs.name === serviceName && r.inputs.role === 'roles/run.invoker')
    .map((r) => r.inputs.member)
    .sort();

describe('project basics', () => {
  test('every API the deployment uses is enabled, and kept on destroy', () => {
    const on = ofType(GCP('projects/service:Service'));
    assert.deepEqual(on.map((r) => r.inputs.service).sort(), [...REQUIRED_APIS].sort());
    for (const r of on) assert.equal(r.inputs.disableOnDestroy, false);
  });

  test('Artifact Registry holds Docker repositories with cleanup policies', () => {
    const repos = ofType(GCP('artifactregistry/repository:Repository'));
    assert.deepEqual(repos.map((r) => r.inputs.repositoryId).sort(), ['htbase', 'htbase-functions']);
    for (const r of repos) {
      assert.equal(r.inputs.format, 'DOCKER');
      assert.equal(r.inputs.location, 'europe-west1');
      assert.ok(r.inputs.cleanupPolicies.some((p: any) => p.action === 'KEEP' && p.mostRecentVersions.keepCount >= 5));
    }
    assert.equal(outputs.imagesRepository, `europe-west1-docker.pkg.dev/${PROJECT}/htbase`);
  });

  test('stack outputs: API URL, bucket, topics, service URLs', () => {
    assert.match(String(outputs.apiUrl), /^https:\/\/htbase-api-.*\.run\.app$/);
    assert.equal(outputs.artifactsBucket, `${PROJECT}-htbase-artifacts`);
    assert.deepEqual(Object.keys(outputs.topics as object).sort(), Object.values(TOPICS).sort());
    assert.match(String(outputs.browserUrl), /^https:\/\/htbase-browser-/);
    assert.match(String(outputs.monolithUrl), /^https:\/\/htbase-monolith-/);
    assert.match(String(outputs.syncUrl), /^https:\/\/htbase-sync-/);
    assert.match(String(outputs.summaryTaskUrl), /^https:\/\/htbase-summary-task-/);
    assert.equal(outputs.tasksQueue, `projects/${PROJECT}/locations/europe-west1/queues/htbase-summaries`);
    assert.equal(outputs.databaseInstance, `${PROJECT}:europe-west1:htbase-pg`);
  });
});

describe('network', () => {
  test('a custom VPC, a subnet for Direct VPC egress and private services access', () => {
    const vpc = one(GCP('compute/network:Network'), () => true);
    assert.equal(vpc.inputs.autoCreateSubnetworks, false);
    const subnet = one(GCP('compute/subnetwork:Subnetwork'), () => true);
    assert.equal(subnet.inputs.ipCidrRange, cfg.network.subnetCidr);
    assert.equal(subnet.inputs.privateIpGoogleAccess, true);
    const range = one(GCP('compute/globalAddress:GlobalAddress'), () => true);
    assert.equal(range.inputs.purpose, 'VPC_PEERING');
    assert.equal(range.inputs.addressType, 'INTERNAL');
    const psa = one(GCP('servicenetworking/connection:Connection'), () => true);
    assert.equal(psa.inputs.service, 'servicenetworking.googleapis.com');
    assert.deepEqual(psa.inputs.reservedPeeringRanges, [range.inputs.name]);
  });

  test('capture workers may reach only Postgres and Redis inside the VPC', () => {
    const fw = ofType(GCP('compute/firewall:Firewall'));
    const allow = fw.find((r) => r.inputs.allows?.length)!;
    const deny = fw.find((r) => r.inputs.denies?.length)!;
    assert.deepEqual(allow.inputs.destinationRanges, [`10.99.0.0/${cfg.network.psaPrefixLength}`]);
    assert.deepEqual(allow.inputs.allows, [{ protocol: 'tcp', ports: ['5432', '6379'] }]);
    assert.ok(allow.inputs.priority < deny.inputs.priority, 'the allow must win over the deny');
    assert.deepEqual(deny.inputs.denies, [{ protocol: 'all' }]);
    for (const cidr of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'])
      assert.ok(deny.inputs.destinationRanges.includes(cidr));
    for (const r of fw) {
      assert.equal(r.inputs.direction, 'EGRESS');
      assert.deepEqual(r.inputs.targetTags, ['htbase-capture']);
    }
    for (const w of ['browser', 'monolith']) {
      assert.deepEqual(service(w).inputs.template.vpcAccess.networkInterfaces[0].tags, ['htbase-capture']);
    }
  });
});

describe('data stores', () => {
  test('Cloud SQL: PostgreSQL 15, private IP only, TLS, backups, PITR, deletion protection', () => {
    const sql = one(GCP('sql/databaseInstance:DatabaseInstance'), () => true);
    assert.equal(sql.inputs.databaseVersion, 'POSTGRES_15');
    assert.equal(sql.inputs.deletionProtection, true);
    const s = sql.inputs.settings;
    assert.equal(s.ipConfiguration.ipv4Enabled, false);
    assert.equal(s.ipConfiguration.privateNetwork, `projects/${PROJECT}/global/networks/htbase-vpc`);
    assert.equal(s.ipConfiguration.authorizedNetworks, undefined);
    assert.equal(s.ipConfiguration.sslMode, 'ENCRYPTED_ONLY');
    assert.equal(s.deletionProtectionEnabled, true);
    assert.equal(s.backupConfiguration.enabled, true);
    assert.equal(s.backupConfiguration.pointInTimeRecoveryEnabled, true);
    assert.equal(s.backupConfiguration.transactionLogRetentionDays, cfg.database.pitrDays);
    assert.equal(s.backupConfiguration.backupRetentionSettings.retainedBackups, cfg.database.backupRetainedCount);
    assert.equal(s.tier, cfg.database.tier);
  });

  test('the database user has a generated password, kept only in Secret Manager as DATABASE_URL', () => {
    const user = one(GCP('sql/user:User'), () => true);
    assert.equal(user.inputs.name, 'htbase');
    assert.equal(secretValue(user.inputs.password), 'generated-password-32-chars-long');
    assert.equal(one(GCP('sql/database:Database'), () => true).inputs.name, 'htbase');
    const version = one(GCP('secretmanager/secretVersion:SecretVersion'), (r) =>
      r.inputs.secret.endsWith('/htbase-database-url'),
    );
    assert.equal(
      secretValue(version.inputs.secretData),
      'postgres://htbase:generated-password-32-chars-long@10.99.0.3:5432/htbase?sslmode=no-verify',
    );
    for (const r of [
      ...ofType(GCP('cloudrunv2/service:Service')),
      ...ofType(GCP('cloudfunctionsv2/function:Function')),
    ]) {
      for (const v of Object.values(envOf(r)))
        assert.ok(!String(v).includes('generated-password'), `${r.name} carries the password in plain env`);
      assert.equal(envOf(r).DATABASE_URL, undefined);
    }
  });

  test('Memorystore Redis: private services access, AUTH on, URL in Secret Manager', () => {
    const redis = one(GCP('redis/instance:Instance'), () => true);
    assert.equal(redis.inputs.authEnabled, true);
    assert.equal(redis.inputs.connectMode, 'PRIVATE_SERVICE_ACCESS');
    assert.equal(redis.inputs.authorizedNetwork, `projects/${PROJECT}/global/networks/htbase-vpc`);
    assert.equal(redis.inputs.memorySizeGb, cfg.redis.memoryGb);
    const version = one(GCP('secretmanager/secretVersion:SecretVersion'), (r) =>
      r.inputs.secret.endsWith('/htbase-redis-url'),
    );
    assert.equal(secretValue(version.inputs.secretData), 'redis://:redis-auth-string@10.99.16.4:6379');
  });

  test('artifacts bucket: uniform access, public access prevention enforced, soft delete, lifecycle', () => {
    const b = one(GCP('storage/bucket:Bucket'), (r) => r.inputs.name.endsWith('-artifacts'));
    assert.equal(b.inputs.uniformBucketLevelAccess, true);
    assert.equal(b.inputs.publicAccessPrevention, 'enforced');
    assert.equal(b.inputs.softDeletePolicy.retentionDurationSeconds, 7 * 86_400);
    assert.equal(b.inputs.location, 'europe-west1');
    assert.equal(b.inputs.forceDestroy, false);
    const rules = b.inputs.lifecycleRules.map((r: any) => r.action.type);
    assert.ok(rules.includes('SetStorageClass') && rules.includes('AbortIncompleteMultipartUpload'));
    const src = one(GCP('storage/bucket:Bucket'), (r) => r.inputs.name.endsWith('-fn-source'));
    assert.equal(src.inputs.publicAccessPrevention, 'enforced');
    assert.equal(src.inputs.uniformBucketLevelAccess, true);
  });

  test('no bucket grants anything to allUsers or allAuthenticatedUsers', () => {
    for (const r of ofType(GCP('storage/bucketIAMMember:BucketIAMMember')))
      assert.ok(!/^all(Authenticated)?Users$/.test(r.inputs.member));
    assert.equal(ofType(GCP('storage/bucketIAMBinding:BucketIAMBinding')).length, 0);
    assert.equal(ofType(GCP('storage/bucketACL:BucketACL')).length, 0);
  });

  test('Firestore native database with rules: signed-in users read, nobody writes from a client', () => {
    const db = one(GCP('firestore/database:Database'), () => true);
    assert.equal(db.inputs.name, '(default)');
    assert.equal(db.inputs.type, 'FIRESTORE_NATIVE');
    assert.equal(db.inputs.deleteProtectionState, 'DELETE_PROTECTION_ENABLED');
    const ruleset = one(GCP('firebaserules/ruleset:Ruleset'), () => true);
    const content: string = ruleset.inputs.source.files[0].content;
    assert.equal(content, readFileSync(new URL('../../infra/firestore.rules', import.meta.url), 'utf8'));
    assert.match(
      content,
      /match \/articles\/\{articleId\}[\s\S]*allow read: if request\.auth != null;[\s\S]*allow write: if false;/,
    );
    assert.doesNotMatch(content, /allow (read, )?write: if (true|request\.auth)/);
    const release = one(GCP('firebaserules/release:Release'), () => true);
    assert.equal(release.inputs.name, 'cloud.firestore');
    assert.equal(release.inputs.rulesetName, `projects/${PROJECT}/rulesets/ruleset-1`);
  });

  test('the Gemini key lives in Secret Manager and reaches only the summary task handler', () => {
    const v = one(GCP('secretmanager/secretVersion:SecretVersion'), (r) =>
      r.inputs.secret.endsWith('/htbase-gemini-api-key'),
    );
    assert.equal(secretValue(v.inputs.secretData), 'AIza-test-key');
    const holders = [...ofType(GCP('cloudfunctionsv2/function:Function')), ...ofType(GCP('cloudrunv2/service:Service'))]
      .filter((r) => 'GEMINI_API_KEY' in secretEnvOf(r))
      .map((r) => r.inputs.name);
    assert.deepEqual(holders, ['htbase-summary-task']);
    assert.equal(envOf(fn('summary-task')).GEMINI_MODE, 'api-key');
  });
});

describe('messaging', () => {
  test('the six topics of shared/core/messages.ts exist, and every one has a subscription (nothing is dropped)', () => {
    const topics = ofType(GCP('pubsub/topic:Topic'))
      .map((r) => r.inputs.name)
      .sort();
    assert.deepEqual(topics, Object.values(TOPICS).sort());
    const subs = ofType(GCP('pubsub/subscription:Subscription'));
    for (const t of topics)
      assert.ok(
        subs.some((s) => s.inputs.topic === `projects/${PROJECT}/topics/${t}`),
        `${t} has no subscription`,
      );
  });

  for (const [topic, worker] of [
    ['capture-browser', 'browser'],
    ['capture-monolith', 'monolith'],
  ] as const) {
    test(`${topic}: OIDC push to the ${worker} worker, ack deadline over the Run timeout, backoff, dead letters`, () => {
      const sub = one(GCP('pubsub/subscription:Subscription'), (r) => r.inputs.name === `${topic}-push`);
      const url = `https://htbase-${worker}-abc123-uc.a.run.app`;
      assert.equal(sub.inputs.pushConfig.pushEndpoint, `${url}/pubsub/push`);
      assert.deepEqual(sub.inputs.pushConfig.oidcToken, {
        serviceAccountEmail: sa('pubsub-invoker'),
        audience: `htbase-${worker}`,
      });
      assert.equal(sub.inputs.ackDeadlineSeconds, ackDeadlineSeconds);
      assert.ok(sub.inputs.ackDeadlineSeconds > runTimeoutSeconds && runTimeoutSeconds > cfg.captureTimeoutSeconds);
      assert.ok(sub.inputs.ackDeadlineSeconds <= 600);
      assert.deepEqual(sub.inputs.retryPolicy, { minimumBackoff: '10s', maximumBackoff: '600s' });
      assert.deepEqual(sub.inputs.deadLetterPolicy, {
        deadLetterTopic: `projects/${PROJECT}/topics/${topic}-dead`,
        maxDeliveryAttempts: cfg.maxDeliveryAttempts,
      });
      assert.equal(sub.inputs.expirationPolicy.ttl, '');
      // The worker verifies the same audience and invoker the subscription mints tokens for.
      const env = envOf(service(worker));
      assert.equal(env.PUBSUB_AUDIENCE, sub.inputs.pushConfig.oidcToken.audience);
      assert.equal(env.PUBSUB_INVOKER_SA, sa('pubsub-invoker'));
      assert.equal(env.PUBSUB_VERIFY_OIDC, 'true');
      assert.deepEqual(service(worker).inputs.customAudiences, [`htbase-${worker}`]);
      const dead = one(GCP('pubsub/subscription:Subscription'), (r) => r.inputs.name === `${topic}-dead-push`);
      assert.equal(dead.inputs.pushConfig.pushEndpoint, `${url}/pubsub/dead-letter`);
      assert.equal(dead.inputs.pushConfig.oidcToken.serviceAccountEmail, sa('pubsub-invoker'));
    });
  }

  test('article-changed: OIDC push to the sync function (Functions Framework topic path), with dead letters', () => {
    const sub = one(GCP('pubsub/subscription:Subscription'), (r) => r.inputs.name === 'article-changed-sync');
    const url = 'https://htbase-sync-abc123-uc.a.run.app';
    assert.equal(sub.inputs.pushConfig.pushEndpoint, `${url}/projects/${PROJECT}/topics/article-changed`);
    assert.deepEqual(sub.inputs.pushConfig.oidcToken, { serviceAccountEmail: sa('pubsub-invoker'), audience: url });
    assert.equal(sub.inputs.deadLetterPolicy.deadLetterTopic, `projects/${PROJECT}/topics/article-changed-dead`);
    assert.ok(sub.inputs.retryPolicy.minimumBackoff);
    const hold = one(GCP('pubsub/subscription:Subscription'), (r) => r.inputs.name === 'article-changed-dead-hold');
    assert.equal(hold.inputs.pushConfig, undefined);
  });

  test('every push subscription uses OIDC from the dedicated invoker account', () => {
    const pushes = ofType(GCP('pubsub/subscription:Subscription')).filter((r) => r.inputs.pushConfig);
    assert.equal(pushes.length, 5);
    for (const s of pushes) {
      assert.equal(s.inputs.pushConfig.oidcToken.serviceAccountEmail, sa('pubsub-invoker'), s.inputs.name);
      assert.match(s.inputs.pushConfig.pushEndpoint, /^https:\/\//);
    }
  });

  test('the Pub/Sub service agent may publish to the dead-letter topics and ack the source subscriptions', () => {
    const agent = `serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
    const pubs = ofType(GCP('pubsub/topicIAMMember:TopicIAMMember')).filter((r) => r.inputs.member === agent);
    assert.deepEqual(pubs.map((r) => r.inputs.topic).sort(), [
      'article-changed-dead',
      'capture-browser-dead',
      'capture-monolith-dead',
    ]);
    for (const r of pubs) assert.equal(r.inputs.role, 'roles/pubsub.publisher');
    const subs = ofType(GCP('pubsub/subscriptionIAMMember:SubscriptionIAMMember')).filter(
      (r) => r.inputs.member === agent,
    );
    const withDlq = ofType(GCP('pubsub/subscription:Subscription'))
      .filter((r) => r.inputs.deadLetterPolicy)
      .map((r) => r.inputs.name)
      .sort();
    assert.deepEqual(subs.map((r) => r.inputs.subscription).sort(), withDlq);
    for (const r of subs) assert.equal(r.inputs.role, 'roles/pubsub.subscriber');
  });

  test('Cloud Tasks queue paces the summaries with the configured rate, concurrency and retries', () => {
    const q = one(GCP('cloudtasks/queue:Queue'), () => true);
    assert.deepEqual(q.inputs.rateLimits, {
      maxDispatchesPerSecond: cfg.summaries.ratePerSecond,
      maxConcurrentDispatches: cfg.summaries.maxConcurrent,
    });
    assert.equal(q.inputs.retryConfig.maxAttempts, cfg.summaries.maxAttempts);
    assert.ok(q.inputs.retryConfig.minBackoff && q.inputs.retryConfig.maxBackoff);
    // The handler must know the last attempt to record a failure on it.
    assert.equal(envOf(fn('summary-task')).SUMMARY_TASK_MAX_ATTEMPTS, String(cfg.summaries.maxAttempts));
  });
});

describe('workers (Cloud Run)', () => {
  test('browser: enough memory for Chromium, one capture per instance, timeout above the capture limit', () => {
    const t = service('browser').inputs.template;
    assert.equal(t.maxInstanceRequestConcurrency, 1);
    assert.equal(t.containers[0].resources.limits.memory, '2Gi');
    assert.equal(t.timeout, `${runTimeoutSeconds}s`);
    assert.ok(runTimeoutSeconds > cfg.captureTimeoutSeconds);
    assert.equal(t.executionEnvironment, 'EXECUTION_ENVIRONMENT_GEN2');
    assert.equal(t.containers[0].image, cfg.browserImage);
    assert.equal(envOf(service('browser')).CAPTURE_TIMEOUT_MS, String(cfg.captureTimeoutSeconds * 1000));
    assert.ok(Number(envOf(service('browser')).LEASE_SECONDS) > runTimeoutSeconds, 'a lease must outlive the request');
  });

  test('monolith: its own image and limits', () => {
    const t = service('monolith').inputs.template;
    assert.equal(t.containers[0].image, cfg.monolithImage);
    assert.equal(t.maxInstanceRequestConcurrency, cfg.monolith.concurrency);
    assert.equal(t.timeout, `${runTimeoutSeconds}s`);
  });

  for (const w of ['browser', 'monolith']) {
    test(`${w}: internal ingress, not public, only the push identity may invoke, own service account`, () => {
      const s = service(w);
      assert.equal(s.inputs.ingress, 'INGRESS_TRAFFIC_INTERNAL_ONLY');
      assert.equal(s.inputs.invokerIamDisabled, false);
      assert.deepEqual(invokers(`htbase-${w}`), [`serviceAccount:${sa('pubsub-invoker')}`]);
      assert.equal(s.inputs.template.serviceAccount, sa(w));
      assert.equal(s.inputs.template.vpcAccess.egress, 'PRIVATE_RANGES_ONLY');
      assert.deepEqual(Object.keys(secretEnvOf(s)).sort(), ['DATABASE_URL', 'REDIS_URL']);
    });

    test(`${w}: every environment variable it gets is one shared/core/config.ts WorkerConfig reads`, () => {
      const known = new Set(Object.keys(WorkerConfig.shape));
      for (const k of [...Object.keys(envOf(service(w))), ...Object.keys(secretEnvOf(service(w)))])
        assert.ok(known.has(k), `${k} is not in WorkerConfig`);
    });
  }
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

  test('summarize and summary-task get only variables functions/summarize/config.ts reads, and all it requires', () => {
    const known = new Set(Object.keys(SummarizeConfig.shape));
    for (const name of ['summarize', 'summary-task']) {
      const env = { ...envOf(fn(name)), ...secretEnvOf(fn(name)) };
      for (const k of Object.keys(env)) assert.ok(known.has(k), `${name}: ${k} is not in SummarizeConfig`);
      for (const k of ['SUMMARY_TASK_URL', 'GOOGLE_CLOUD_PROJECT', 'ARTIFACTS_BUCKET', 'DATABASE_URL'])
        assert.ok(k in env, `${name} lacks ${k}`);
    }
  });

  test('sync: Pub/Sub-fed, private, only the push identity may invoke, reads Postgres and writes Firestore', () => {
    const f = fn('sync');
    assert.equal(f.inputs.buildConfig.entryPoint, 'sync');
    assert.equal(f.inputs.serviceConfig.ingressSettings, 'ALLOW_INTERNAL_ONLY');
    assert.deepEqual(invokers('htbase-sync'), [`serviceAccount:${sa('pubsub-invoker')}`]);
    assert.deepEqual(Object.keys(secretEnvOf(f)), ['DATABASE_URL']);
    assert.equal(envOf(f).FIRESTORE_DATABASE, '(default)');
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
    const known = new Set(Object.keys(SweepConfig.shape));
    for (const k of Object.keys({ ...env, ...secretEnvOf(f) }))
      assert.ok(known.has(k), `sweep: ${k} is not in SweepConfig`);
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

describe('identity and access', () => {
  // Resolves an IAM resource to the scope vocabulary of infra/roles.ts from what it points at.
  function scopeOf(r: Recorded): string {
    const i = r.inputs;
    switch (r.type) {
      case GCP('projects/iAMMember:IAMMember'):
        assert.equal(i.project, PROJECT);
        return 'project';
      case GCP('storage/bucketIAMMember:BucketIAMMember'):
        return `bucket:${i.bucket.replace(`${PROJECT}-htbase-`, '')}`;
      case GCP('pubsub/topicIAMMember:TopicIAMMember'):
        return `topic:${i.topic}`;
      case GCP('pubsub/subscriptionIAMMember:SubscriptionIAMMember'):
        return `subscription:${i.subscription}`;
      case GCP('secretmanager/secretIamMember:SecretIamMember'):
        return `secret:${i.secretId.replace(`projects/${PROJECT}/secrets/htbase-`, '')}`;
      case GCP('cloudtasks/queueIamMember:QueueIamMember'):
        return `queue:${i.name.replace('htbase-', '')}`;
      case GCP('artifactregistry/repositoryIamMember:RepositoryIamMember'):
        return `repo:${i.repository.replace('htbase-', '')}`;
      case GCP('serviceaccount/iAMMember:IAMMember'):
        return `sa:${i.serviceAccountId.replace(`projects/${PROJECT}/serviceAccounts/htbase-`, '').replace(`@${PROJECT}.iam.gserviceaccount.com`, '')}`;
      case GCP('cloudrunv2/serviceIamMember:ServiceIamMember'):
        return `run:${i.name.replace('htbase-', '')}`;
      default:
        throw new Error(`unexpected IAM resource ${r.type}`);
    }
  }
  const iam = () => recorded.filter((r) => r.type.startsWith('gcp:') && /iammember|iambinding|iampolicy/i.test(r.type));
  const principal = (member: string) => {
    const m = /^serviceAccount:htbase-(.+)@htbase-test-123\.iam\.gserviceaccount\.com$/.exec(member);
    if (m) return m[1];
    if (member.includes('gcp-sa-pubsub')) return 'agent:pubsub';
    if (member.includes('gs-project-accounts')) return 'agent:storage';
    return member;
  };
  const byPrincipal = () => {
    const map = new Map<string, string[]>();
    for (const r of iam()) {
      const p = principal(r.inputs.member);
      map.set(p, [...(map.get(p) ?? []), `${r.inputs.role} on ${scopeOf(r)}`]);
    }
    return map;
  };

  test('one service account per deployable and invoking identity', () => {
    const accounts = ofType(GCP('serviceaccount/account:Account'))
      .map((r) => r.inputs.accountId)
      .sort();
    assert.deepEqual(
      accounts,
      Object.keys(SERVICE_ACCOUNTS)
        .map((k) => `htbase-${k}`)
        .sort(),
    );
    const used = [
      service('browser').inputs.template.serviceAccount,
      service('monolith').inputs.template.serviceAccount,
      ...ofType(GCP('cloudfunctionsv2/function:Function')).map((f) => f.inputs.serviceConfig.serviceAccountEmail),
    ];
    assert.equal(new Set(used).size, used.length, 'no two deployables share an identity');
  });

  test("each service account's roles equal its documented minimal list in infra/roles.ts", () => {
    const actual = byPrincipal();
    for (const [key, grants] of Object.entries(minimalRoles({ vertex: false }))) {
      const want = [...new Set(grants.map((g) => `${g.role} on ${g.on}`))].sort();
      assert.deepEqual((actual.get(key) ?? []).sort(), want, key);
    }
    for (const [agent, grants] of Object.entries(SERVICE_AGENT_ROLES)) {
      assert.deepEqual(
        (actual.get(`agent:${agent}`) ?? []).sort(),
        grants.map((g) => `${g.role} on ${g.on}`).sort(),
        agent,
      );
    }
    const expected = new Set([...Object.keys(SERVICE_ACCOUNTS), 'agent:pubsub', 'agent:storage', 'allUsers']);
    for (const p of actual.keys()) assert.ok(expected.has(p), `unexpected principal ${p}`);
  });

  test('no basic roles (owner, editor, viewer) and no bindings or policies that would replace others', () => {
    for (const r of iam()) {
      assert.ok(!FORBIDDEN_ROLES.includes(r.inputs.role), `${r.name} grants ${r.inputs.role}`);
      assert.doesNotMatch(r.type, /Binding|Policy/i, 'authoritative IAM would strip grants made outside this stack');
    }
    for (const g of Object.values(minimalRoles({ vertex: true })).flat()) assert.ok(!FORBIDDEN_ROLES.includes(g.role));
  });

  test('secrets are readable at deploy time: each deployable waits for its grants', () => {
    // Cloud Run checks secret access when it creates a revision; the grants exist before the services.
    const order = recorded.map((r) => r.name);
    const grantIdx = order.indexOf('iam-browser-secretmanager-secretAccessor-secret-database-url');
    assert.ok(grantIdx >= 0 && grantIdx < order.indexOf('browser-service'));
    const sumIdx = order.indexOf('iam-summary-task-secretmanager-secretAccessor-secret-gemini-api-key');
    assert.ok(sumIdx >= 0 && sumIdx < order.indexOf('summary-task-fn'));
  });
});

// Mocked deployment, messaging and workers: the topics and their OIDC push subscriptions with dead letters,
// the Cloud Tasks queue, and the Cloud Run capture workers (limits, ingress, invokers, identities).
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { TOPICS } from '../../shared/core/messages.ts';
import { one, ofType, PROJECT, PROJECT_NUMBER } from './mock-cloud.ts';
import {
  ackDeadlineSeconds,
  cfg,
  deploy,
  envOf,
  fn,
  GCP,
  invokers,
  runTimeoutSeconds,
  sa,
  secretEnvOf,
  service,
} from './stack-fixture.ts';

before(async () => {
  await deploy();
});

describe('messaging', () => {
  test('the six topics of shared/core/messages.ts exist, and every one has a subscription (nothing is dropped)', () => {
    const topics = ofType(GCP('pubsub/topic:Topic'))
      .map((r) => r.inputs.name)
      .sort();
    // Every name carries the stack prefix, so a second stack in the project gets topics of its own.
    assert.deepEqual(
      topics,
      Object.values(TOPICS)
        .map((t) => `${cfg.prefix}-${t}`)
        .sort(),
    );
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
      const sub = one(GCP('pubsub/subscription:Subscription'), (r) => r.inputs.name === `htbase-${topic}-push`);
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
        deadLetterTopic: `projects/${PROJECT}/topics/htbase-${topic}-dead`,
        maxDeliveryAttempts: cfg.maxDeliveryAttempts,
      });
      assert.equal(sub.inputs.expirationPolicy.ttl, '');
      // The worker verifies the same audience and invoker the subscription mints tokens for.
      const env = envOf(service(worker));
      assert.equal(env.PUBSUB_AUDIENCE, sub.inputs.pushConfig.oidcToken.audience);
      assert.equal(env.PUBSUB_INVOKER_SA, sa('pubsub-invoker'));
      assert.equal(env.PUBSUB_VERIFY_OIDC, 'true');
      assert.deepEqual(service(worker).inputs.customAudiences, [`htbase-${worker}`]);
      const dead = one(GCP('pubsub/subscription:Subscription'), (r) => r.inputs.name === `htbase-${topic}-dead-push`);
      assert.equal(dead.inputs.pushConfig.pushEndpoint, `${url}/pubsub/dead-letter`);
      assert.equal(dead.inputs.pushConfig.oidcToken.serviceAccountEmail, sa('pubsub-invoker'));
    });
  }

  test('article-changed: OIDC push to the sync function (Functions Framework topic path), with dead letters', () => {
    const sub = one(GCP('pubsub/subscription:Subscription'), (r) => r.inputs.name === 'htbase-article-changed-sync');
    const url = 'https://htbase-sync-abc123-uc.a.run.app';
    assert.equal(sub.inputs.pushConfig.pushEndpoint, `${url}/projects/${PROJECT}/topics/htbase-article-changed`);
    assert.deepEqual(sub.inputs.pushConfig.oidcToken, { serviceAccountEmail: sa('pubsub-invoker'), audience: url });
    assert.equal(sub.inputs.deadLetterPolicy.deadLetterTopic, `projects/${PROJECT}/topics/htbase-article-changed-dead`);
    assert.ok(sub.inputs.retryPolicy.minimumBackoff);
    const hold = one(
      GCP('pubsub/subscription:Subscription'),
      (r) => r.inputs.name === 'htbase-article-changed-dead-hold',
    );
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
      'htbase-article-changed-dead',
      'htbase-capture-browser-dead',
      'htbase-capture-monolith-dead',
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
  test('browser: enough memory for Chromium, two captures per instance, timeout above the capture limit', () => {
    const t = service('browser').inputs.template;
    // Two at once: the measured throughput peak of one Chromium on 2 vCPU, within 2Gi (bench:concurrency, issue 17).
    assert.equal(t.maxInstanceRequestConcurrency, 2);
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
      assert.deepEqual(Object.keys(secretEnvOf(s)).sort(), ['COOKIE_ENCRYPTION_KEY', 'DATABASE_URL', 'REDIS_URL']);
    });
  }
});

// Publisher on Google Cloud Pub/Sub, and the topology every deployment needs: the topics of
// shared/core/messages.ts, push subscriptions with ack deadline, retry policy and dead-letter topics.
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { Publisher } from '../core/ports.ts';
import { TOPICS, encodeData, type TopicName, type TopicPayloads } from '../core/messages.ts';
import { silentLogger, type Logger } from '../core/logger.ts';

export interface PubSubPublisherOptions {
  pubsub: PubSub;
  /** Bound on one publish, retries included (ms). Default 30 s. */
  timeoutMs?: number;
  logger?: Logger;
  /** Prepended to the logical topic name (a stack's `htbase-`); default none. */
  topicPrefix?: string;
}

/**
 * One cached Topic per name. Callers await each publish (its ack is the at-least-once hand-off), so the batch
 * window is short: 2 ms at most, which an idle API barely notices, while under load the publishes of many
 * concurrent requests share one RPC instead of one each (bench:api).
 */
export function createPubSubPublisher(opts: PubSubPublisherOptions): Publisher & { close(): Promise<void> } {
  const topics = new Map<string, Topic>();
  const timeout = opts.timeoutMs ?? 30_000;
  const log = (opts.logger ?? silentLogger()).child({ component: 'pubsub-publisher' });
  const topicFor = (name: string): Topic => {
    let t = topics.get(name);
    if (!t) {
      t = opts.pubsub.topic(`${opts.topicPrefix ?? ''}${name}`, {
        // The client's default window (10 ms) would add 10 ms to every POST /archive; 2 ms batches under load only.
        batching: { maxMessages: 100, maxMilliseconds: 2 },
        gaxOpts: {
          timeout,
          retry: {
            retryCodes: [4, 8, 10, 13, 14],
            backoffSettings: {
              initialRetryDelayMillis: 100,
              retryDelayMultiplier: 1.3,
              maxRetryDelayMillis: 5000,
              initialRpcTimeoutMillis: 5000,
              rpcTimeoutMultiplier: 1,
              maxRpcTimeoutMillis: 5000,
              totalTimeoutMillis: timeout,
            },
          },
        },
      });
      topics.set(name, t);
    }
    return t;
  };
  return {
    async publish<T extends TopicName>(topic: T, data: TopicPayloads[T], attributes?: Record<string, string>) {
      const id = await topicFor(topic).publishMessage({ data: encodeData(data), attributes });
      log.debug({ topic, messageId: id }, 'published');
      return id;
    },
    async close() {
      await Promise.all([...topics.values()].map((t) => t.flush()));
    },
  };
}

// ---------------------------------------------------------------- topology
export interface TopologyOptions {
  pushEndpoints: {
    /** containers/browser: capture-browser. */
    browser: string;
    /** containers/monolith: capture-monolith. */
    monolith: string;
    /** The Firestore sync function: article-changed. */
    articleChanged: string;
    /** The dead-letter handler (marks artifacts failed/dead_lettered): capture-browser-dead and capture-monolith-dead. */
    deadLetter: string;
    /** Optional push target for article-changed-dead; without it a pull subscription keeps those messages for inspection. */
    articleChangedDead?: string;
  };
  /** Seconds a push endpoint has to answer before redelivery (10-600). Default 600, a capture's upper bound. */
  ackDeadlineSeconds?: number;
  /** Deliveries before a message moves to its dead-letter topic (Pub/Sub accepts 5-100). Default 5. */
  maxDeliveryAttempts?: number;
  /** Retry policy backoff, seconds (0-600). Defaults 10 and 600. */
  minBackoffSeconds?: number;
  maxBackoffSeconds?: number;
  /** Push requests carry an OIDC token for this service account, with this audience (default: the endpoint URL). */
  oidc?: { serviceAccountEmail: string; audience?: string };
  /** Prepended to subscription names, so several stacks can share one project. Default ''. */
  subscriptionPrefix?: string;
  /** Bound on each admin call (ms). Default 30 s. */
  timeoutMs?: number;
  logger?: Logger;
}

export interface SubscriptionSpec {
  name: string;
  topic: TopicName;
  pushEndpoint: string | null;
  deadLetterTopic: TopicName | null;
}

export interface TopologyResult {
  topics: TopicName[];
  subscriptions: Array<SubscriptionSpec & { action: 'created' | 'updated' }>;
}

/** The subscriptions ensureTopology maintains, by name; a pure function so tests and infra can share it. */
export function subscriptionSpecs(endpoints: TopologyOptions['pushEndpoints'], prefix = ''): SubscriptionSpec[] {
  return [
    {
      name: `${prefix}${TOPICS.captureBrowser}-push`,
      topic: TOPICS.captureBrowser,
      pushEndpoint: endpoints.browser,
      deadLetterTopic: TOPICS.captureBrowserDead,
    },
    {
      name: `${prefix}${TOPICS.captureMonolith}-push`,
      topic: TOPICS.captureMonolith,
      pushEndpoint: endpoints.monolith,
      deadLetterTopic: TOPICS.captureMonolithDead,
    },
    {
      name: `${prefix}${TOPICS.articleChanged}-push`,
      topic: TOPICS.articleChanged,
      pushEndpoint: endpoints.articleChanged,
      deadLetterTopic: TOPICS.articleChangedDead,
    },
    {
      name: `${prefix}${TOPICS.captureBrowserDead}-push`,
      topic: TOPICS.captureBrowserDead,
      pushEndpoint: endpoints.deadLetter,
      deadLetterTopic: null,
    },
    {
      name: `${prefix}${TOPICS.captureMonolithDead}-push`,
      topic: TOPICS.captureMonolithDead,
      pushEndpoint: endpoints.deadLetter,
      deadLetterTopic: null,
    },
    {
      name: `${prefix}${TOPICS.articleChangedDead}-${endpoints.articleChangedDead ? 'push' : 'hold'}`,
      topic: TOPICS.articleChangedDead,
      pushEndpoint: endpoints.articleChangedDead ?? null,
      deadLetterTopic: null,
    },
  ];
}

const ALREADY_EXISTS = 6;

function grpcCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/**
 * Creates the topics and subscriptions, or brings existing subscriptions in line (push config, ack
 * deadline, retry and dead-letter policies). Safe to run on every deploy and every `dev:cloud` start.
 * In a real project the Pub/Sub service agent also needs publisher on the dead-letter topics and
 * subscriber on the source subscriptions: that grant belongs to infra, not to this function.
 */
export async function ensureTopology(pubsub: PubSub, opts: TopologyOptions): Promise<TopologyResult> {
  const log = (opts.logger ?? silentLogger()).child({ component: 'pubsub-topology' });
  const gaxOpts = { timeout: opts.timeoutMs ?? 30_000 };
  const projectId = await pubsub.getClientConfig().then((c) => c.projectId ?? pubsub.projectId);
  const topicNames = Object.values(TOPICS) as TopicName[];
  for (const name of topicNames) {
    try {
      await pubsub.createTopic(name, gaxOpts);
      log.info({ topic: name }, 'topic created');
    } catch (err) {
      if (grpcCode(err) !== ALREADY_EXISTS) throw err;
    }
  }
  const retryPolicy = {
    minimumBackoff: { seconds: opts.minBackoffSeconds ?? 10 },
    maximumBackoff: { seconds: opts.maxBackoffSeconds ?? 600 },
  };
  const ackDeadlineSeconds = opts.ackDeadlineSeconds ?? 600;
  const maxDeliveryAttempts = opts.maxDeliveryAttempts ?? 5;
  const result: TopologyResult = { topics: topicNames, subscriptions: [] };
  for (const spec of subscriptionSpecs(opts.pushEndpoints, opts.subscriptionPrefix ?? '')) {
    const pushConfig = spec.pushEndpoint
      ? {
          pushEndpoint: spec.pushEndpoint,
          ...(opts.oidc
            ? {
                oidcToken: {
                  serviceAccountEmail: opts.oidc.serviceAccountEmail,
                  audience: opts.oidc.audience ?? spec.pushEndpoint,
                },
              }
            : {}),
        }
      : {};
    const deadLetterPolicy = spec.deadLetterTopic
      ? { deadLetterTopic: `projects/${projectId}/topics/${spec.deadLetterTopic}`, maxDeliveryAttempts }
      : undefined;
    const metadata = {
      pushConfig,
      ackDeadlineSeconds,
      retryPolicy,
      ...(deadLetterPolicy ? { deadLetterPolicy } : {}),
    };
    let action: 'created' | 'updated' = 'created';
    try {
      await pubsub.topic(spec.topic).createSubscription(spec.name, { ...metadata, gaxOpts });
      log.info({ subscription: spec.name, topic: spec.topic }, 'subscription created');
    } catch (err) {
      if (grpcCode(err) !== ALREADY_EXISTS) throw err;
      action = 'updated';
      const sub = pubsub.subscription(spec.name);
      // The push config has its own RPC; the rest goes through UpdateSubscription with a field mask.
      await sub.modifyPushConfig(pushConfig, gaxOpts);
      await sub.setMetadata(
        { ackDeadlineSeconds, retryPolicy, ...(deadLetterPolicy ? { deadLetterPolicy } : {}) },
        gaxOpts,
      );
      log.info({ subscription: spec.name, topic: spec.topic }, 'subscription updated');
    }
    result.subscriptions.push({ ...spec, action });
  }
  return result;
}

// Messaging: the Pub/Sub topics of the design (shared/core/messages.ts TOPICS), their dead-letter topics, and the
// push subscriptions that deliver them with OIDC tokens, exponential backoff and a dead-letter policy.
import * as gcp from '@pulumi/gcp';
import * as pulumi from '@pulumi/pulumi';
import { TOPICS, type TopicName } from '../../shared/core/messages.ts';

export interface PushTarget {
  /** Full push URL (service URL + path). */
  endpoint: pulumi.Input<string>;
  /** OIDC audience the receiver checks. */
  audience: pulumi.Input<string>;
  ackDeadlineSeconds: number;
}

export interface MessagingArgs {
  /** Prepended to every topic and subscription name (`htbase-`), so two stacks can share a project. */
  namePrefix: string;
  /** Identity whose OIDC token every push carries; only it may invoke the receivers. */
  invokerEmail: pulumi.Input<string>;
  /** Pushes before a message goes to its dead-letter topic. */
  maxDeliveryAttempts: number;
  captureBrowser: PushTarget;
  captureBrowserDead: PushTarget;
  captureMonolith: PushTarget;
  captureMonolithDead: PushTarget;
  articleChanged: PushTarget;
}

const WEEK = '604800s';

export class Messaging extends pulumi.ComponentResource {
  readonly topics: Record<TopicName, gcp.pubsub.Topic>;
  /** Keyed by logical subscription name (the real one carries the prefix): capture-browser-push, capture-monolith-push, article-changed-sync, ... */
  readonly subscriptions: Record<string, gcp.pubsub.Subscription>;

  constructor(name: string, args: MessagingArgs, opts?: pulumi.ComponentResourceOptions) {
    super('htbase:infra:Messaging', name, {}, opts);
    const parent = { parent: this };
    this.topics = Object.fromEntries(
      Object.values(TOPICS).map((t) => [
        t,
        new gcp.pubsub.Topic(
          `${name}-${t}`,
          { name: `${args.namePrefix}${t}`, messageRetentionDuration: WEEK },
          parent,
        ),
      ]),
    ) as Record<TopicName, gcp.pubsub.Topic>;

    const push = (subName: string, topic: TopicName, target: PushTarget, deadLetter?: TopicName) =>
      new gcp.pubsub.Subscription(
        `${name}-${subName}`,
        {
          name: `${args.namePrefix}${subName}`,
          topic: this.topics[topic].id,
          // Push ack deadline = how long Pub/Sub waits for the HTTP answer: longer than the receiver's timeout,
          // so a slow capture is never redelivered while it still runs.
          ackDeadlineSeconds: target.ackDeadlineSeconds,
          messageRetentionDuration: WEEK,
          expirationPolicy: { ttl: '' }, // never expire, even when idle
          retryPolicy: { minimumBackoff: '10s', maximumBackoff: '600s' },
          ...(deadLetter
            ? {
                deadLetterPolicy: {
                  deadLetterTopic: this.topics[deadLetter].id,
                  maxDeliveryAttempts: args.maxDeliveryAttempts,
                },
              }
            : {}),
          pushConfig: {
            pushEndpoint: target.endpoint,
            // Default (wrapped) payload {message, subscription}: what shared/core/messages.ts PushEnvelope decodes.
            oidcToken: { serviceAccountEmail: args.invokerEmail, audience: target.audience },
          },
        },
        parent,
      );

    this.subscriptions = {
      'capture-browser-push': push(
        'capture-browser-push',
        TOPICS.captureBrowser,
        args.captureBrowser,
        TOPICS.captureBrowserDead,
      ),
      'capture-monolith-push': push(
        'capture-monolith-push',
        TOPICS.captureMonolith,
        args.captureMonolith,
        TOPICS.captureMonolithDead,
      ),
      'article-changed-sync': push(
        'article-changed-sync',
        TOPICS.articleChanged,
        args.articleChanged,
        TOPICS.articleChangedDead,
      ),
      // Dead letters go back to the worker that owns the artifact, which marks it failed/dead_lettered.
      'capture-browser-dead-push': push(
        'capture-browser-dead-push',
        TOPICS.captureBrowserDead,
        args.captureBrowserDead,
      ),
      'capture-monolith-dead-push': push(
        'capture-monolith-dead-push',
        TOPICS.captureMonolithDead,
        args.captureMonolithDead,
      ),
      // A topic without a subscription drops what is published to it: hold dead article-changed events
      // for a week for inspection (the replica heals anyway with the next change or a reconcile).
      'article-changed-dead-hold': new gcp.pubsub.Subscription(
        `${name}-article-changed-dead-hold`,
        {
          name: `${args.namePrefix}article-changed-dead-hold`,
          topic: this.topics[TOPICS.articleChangedDead].id,
          messageRetentionDuration: WEEK,
          expirationPolicy: { ttl: '' },
        },
        parent,
      ),
    };
    this.registerOutputs({ topics: Object.keys(this.topics) });
  }
}

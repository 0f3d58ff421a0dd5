// The declared topology of the Postgres job queue: which subscriptions each topic fans out to, and the
// pg-boss queue (retry policy, expiry, dead-letter queue) behind each. Every process declares the same map,
// so a process that only publishes still knows every subscription a message must reach.
import type PgBoss from 'pg-boss';
import type { TopicName } from '../core/messages.ts';
import type { SubscriptionOptions } from './in-process-bus.ts';

/**
 * Queue-level settings of one subscription. Concurrency is not here: it is how many deliveries one
 * process runs at once, and is given to `subscribe` by the process that consumes.
 */
export interface DeclaredSubscription extends Pick<
  SubscriptionOptions,
  'deadLetterTopic' | 'maxDeliveryAttempts' | 'minBackoffMs' | 'maxBackoffMs'
> {
  /** Seconds a delivery may run before its job counts as lost and is redelivered (pg-boss expireInSeconds). */
  ackDeadlineSeconds?: number;
}

/** topic -> subscription name -> settings. A topic declared with `{}` drops what is published to it, as Pub/Sub does. */
export type PgQueueTopology = Partial<Record<TopicName, Record<string, DeclaredSubscription>>>;

export interface TopologyDefaults {
  maxDeliveryAttempts: number;
  minBackoffMs: number;
  maxBackoffMs: number;
  ackDeadlineSeconds: number;
}

/** One subscription with every setting resolved and its pg-boss queue names. */
export interface ResolvedSubscription {
  topic: TopicName;
  name: string;
  /** The pg-boss queue that holds this subscription's messages (named after the subscription). */
  queue: string;
  /** Where pg-boss moves a job that used up its attempts; a relay hands it on to the dead-letter topic. */
  deadLetterQueue: string | null;
  deadLetterTopic: TopicName | null;
  maxDeliveryAttempts: number;
  minBackoffMs: number;
  /** The longest wait before a redelivery (pg-boss 10 has no cap of its own: pg-queue.ts applies it per job). */
  maxBackoffMs: number;
  ackDeadlineSeconds: number;
}

// pg-boss counts retries in an int column; without a dead-letter topic Pub/Sub redelivers forever, and so do we.
const FOREVER = 2_147_483_647;

export const deadLetterQueueName = (subscription: string) => `${subscription}-dlq`;

/** Resolves the declared map, refusing what would lose messages silently or make two queues collide. */
export function resolveTopology(topology: PgQueueTopology, defaults: TopologyDefaults): ResolvedSubscription[] {
  const out: ResolvedSubscription[] = [];
  const queues = new Set<string>();
  const claim = (q: string) => {
    if (queues.has(q)) throw new Error(`pg queue topology: queue name ${q} is used twice`);
    queues.add(q);
  };
  for (const [topic, subs] of Object.entries(topology) as Array<[TopicName, Record<string, DeclaredSubscription>]>) {
    for (const [name, d] of Object.entries(subs ?? {})) {
      const dl = d.deadLetterTopic ?? null;
      if (dl && Object.keys(topology[dl] ?? {}).length === 0)
        throw new Error(`pg queue topology: ${name} dead-letters to ${dl}, which has no declared subscription`);
      const r: ResolvedSubscription = {
        topic,
        name,
        queue: name,
        deadLetterQueue: dl ? deadLetterQueueName(name) : null,
        deadLetterTopic: dl,
        maxDeliveryAttempts: d.maxDeliveryAttempts ?? defaults.maxDeliveryAttempts,
        minBackoffMs: d.minBackoffMs ?? defaults.minBackoffMs,
        maxBackoffMs: Math.max(d.maxBackoffMs ?? defaults.maxBackoffMs, d.minBackoffMs ?? defaults.minBackoffMs),
        ackDeadlineSeconds: d.ackDeadlineSeconds ?? defaults.ackDeadlineSeconds,
      };
      if (!Number.isInteger(r.maxDeliveryAttempts) || r.maxDeliveryAttempts < 1)
        throw new Error(`pg queue topology: ${name} needs maxDeliveryAttempts >= 1`);
      claim(r.queue);
      if (r.deadLetterQueue) claim(r.deadLetterQueue);
      out.push(r);
    }
  }
  return out;
}

/**
 * pg-boss settings of a subscription's queue. Attempt n is retried after minBackoff * 2^(n-1) .. 2^n (pg-boss
 * adds jitter); pg-boss 10 has no upper bound short of 2^16, so pg-queue.ts caps it at maxBackoffMs per job.
 */
export function queueOptions(s: ResolvedSubscription): Omit<PgBoss.Queue, 'name'> {
  return {
    policy: 'standard',
    retryLimit: s.deadLetterTopic ? s.maxDeliveryAttempts - 1 : FOREVER,
    // Whole seconds: pg-boss stores the delay as an int (and uses at least 1 s once backoff is on).
    retryDelay: Math.max(1, Math.ceil(s.minBackoffMs / 1000)),
    retryBackoff: true,
    expireInSeconds: s.ackDeadlineSeconds,
    ...(s.deadLetterQueue ? { deadLetter: s.deadLetterQueue } : {}),
  };
}

/**
 * Creates every queue (dead-letter queues first: a queue's dead_letter references one) and applies the
 * declared settings to queues that already exist, so every process converges on the same policy.
 */
export async function declareQueues(boss: PgBoss, subs: ResolvedSubscription[]): Promise<void> {
  for (const s of subs) {
    if (!s.deadLetterQueue) continue;
    await boss.createQueue(s.deadLetterQueue, { name: s.deadLetterQueue, policy: 'standard' });
  }
  for (const s of subs) {
    const o = { name: s.queue, ...queueOptions(s) };
    await boss.createQueue(s.queue, o);
    await boss.updateQueue(s.queue, o);
  }
}

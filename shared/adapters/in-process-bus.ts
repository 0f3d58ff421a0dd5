// An in-process message bus with Pub/Sub push semantics (embedded mode): each subscription receives the
// push envelope, 2xx acknowledges, anything else is redelivered with exponential backoff, and after
// maxDeliveryAttempts the message goes to the subscription's dead-letter topic.
import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/logger.ts';
import type { TopicName } from '../core/messages.ts';
import type { Publisher } from '../core/ports.ts';

export interface PushBody {
  message: { data: string; attributes: Record<string, string>; messageId: string; publishTime: string };
  subscription: string;
  deliveryAttempt: number;
}

/** A push endpoint: answers an HTTP status, as a Cloud Run service would. */
export type PushHandler = (body: PushBody) => Promise<number>;

export interface SubscriptionOptions {
  deadLetterTopic?: TopicName;
  maxDeliveryAttempts?: number;
  /** Concurrent deliveries to this endpoint (Cloud Run's container concurrency times instances). */
  concurrency?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Pending {
  id: string;
  data: string;
  attributes: Record<string, string>;
  publishTime: string;
  attempt: number;
}

interface Sub {
  name: string;
  handler: PushHandler;
  opts: Required<Omit<SubscriptionOptions, 'deadLetterTopic'>> & { deadLetterTopic?: TopicName };
  queue: Pending[];
  active: number;
}

export interface InProcessBus extends Publisher {
  subscribe(topic: TopicName, name: string, handler: PushHandler, opts?: SubscriptionOptions): void;
  /** Resolves once nothing is queued, in flight or waiting for redelivery. */
  idle(): Promise<void>;
  close(): Promise<void>;
  stats(): { published: number; delivered: number; redelivered: number; deadLettered: number };
}

export function createInProcessBus(opts: {
  logger: Logger;
  maxDeliveryAttempts?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}): InProcessBus {
  const subs = new Map<TopicName, Sub[]>();
  const timers = new Set<NodeJS.Timeout>();
  const counters = { published: 0, delivered: 0, redelivered: 0, deadLettered: 0 };
  let closed = false;
  let idleWaiters: Array<() => void> = [];
  const inFlight = new Set<Promise<void>>();

  const busy = () =>
    timers.size > 0 || inFlight.size > 0 || [...subs.values()].flat().some((s) => s.queue.length > 0 || s.active > 0);
  const checkIdle = () => {
    if (!busy()) {
      const w = idleWaiters;
      idleWaiters = [];
      w.forEach((f) => f());
    }
  };

  function pump(sub: Sub): void {
    while (!closed && sub.active < sub.opts.concurrency && sub.queue.length > 0) {
      const msg = sub.queue.shift()!;
      sub.active++;
      const p = deliver(sub, msg).finally(() => {
        sub.active--;
        inFlight.delete(p);
        pump(sub);
        checkIdle();
      });
      inFlight.add(p);
    }
  }

  async function deliver(sub: Sub, msg: Pending): Promise<void> {
    msg.attempt++;
    const body: PushBody = {
      message: { data: msg.data, attributes: msg.attributes, messageId: msg.id, publishTime: msg.publishTime },
      subscription: `projects/local/subscriptions/${sub.name}`,
      deliveryAttempt: msg.attempt,
    };
    let status: number;
    try {
      status = await sub.handler(body);
    } catch (err) {
      opts.logger.error({ err, subscription: sub.name, messageId: msg.id }, 'push handler threw');
      status = 500;
    }
    counters.delivered++;
    if (status >= 200 && status < 300) return;
    if (closed) return;
    if (msg.attempt >= sub.opts.maxDeliveryAttempts) {
      if (sub.opts.deadLetterTopic) {
        counters.deadLettered++;
        opts.logger.warn({ subscription: sub.name, messageId: msg.id, attempts: msg.attempt }, 'message dead-lettered');
        await publishRaw(sub.opts.deadLetterTopic, msg.data, {
          ...msg.attributes,
          CloudPubSubDeadLetterSourceDeliveryCount: String(msg.attempt),
          CloudPubSubDeadLetterSourceSubscription: sub.name,
        });
      } else {
        // Pub/Sub without a dead-letter policy redelivers forever; so do we, at the slowest backoff.
        schedule(sub, msg, sub.opts.maxBackoffMs);
      }
      return;
    }
    const backoff = Math.min(sub.opts.maxBackoffMs, sub.opts.minBackoffMs * 2 ** (msg.attempt - 1));
    schedule(sub, msg, backoff);
  }

  function schedule(sub: Sub, msg: Pending, ms: number): void {
    counters.redelivered++;
    const t = setTimeout(() => {
      timers.delete(t);
      sub.queue.push(msg);
      pump(sub);
      checkIdle();
    }, ms);
    timers.add(t);
  }

  async function publishRaw(topic: TopicName, data: string, attributes: Record<string, string>): Promise<string> {
    if (closed) throw new Error('bus is closed');
    const id = randomUUID();
    counters.published++;
    const publishTime = new Date().toISOString();
    for (const sub of subs.get(topic) ?? []) {
      sub.queue.push({ id, data, attributes, publishTime, attempt: 0 });
      // Deliver asynchronously, as a broker would: publish never runs the handler inline.
      setImmediate(() => pump(sub));
    }
    return id;
  }

  return {
    async publish(topic, data, attributes = {}) {
      return publishRaw(topic, Buffer.from(JSON.stringify(data)).toString('base64'), attributes);
    },
    subscribe(topic, name, handler, so = {}) {
      const list = subs.get(topic) ?? [];
      list.push({
        name,
        handler,
        queue: [],
        active: 0,
        opts: {
          deadLetterTopic: so.deadLetterTopic,
          maxDeliveryAttempts: so.maxDeliveryAttempts ?? opts.maxDeliveryAttempts ?? 5,
          concurrency: so.concurrency ?? 1,
          minBackoffMs: so.minBackoffMs ?? opts.minBackoffMs ?? 1000,
          maxBackoffMs: so.maxBackoffMs ?? opts.maxBackoffMs ?? 60_000,
        },
      });
      subs.set(topic, list);
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        setImmediate(checkIdle);
      });
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...inFlight]);
      checkIdle();
    },
    stats: () => ({ ...counters }),
  };
}

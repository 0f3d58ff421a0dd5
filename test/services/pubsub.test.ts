// The Pub/Sub publisher and topology (shared/adapters/pubsub.ts) against the real Pub/Sub emulator:
// push delivery in the envelope decodePush reads, redelivery on non-2xx, and dead-lettering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { PubSub } from '@google-cloud/pubsub';
import { startPubSubEmulator, type PubSubEmulatorHandle } from '../support/services.ts';
import { createPubSubPublisher, ensureTopology, subscriptionSpecs } from '../../shared/adapters/pubsub.ts';
import { CaptureJobV1, ArticleChangedV1, TOPICS, decodePush } from '../../shared/core/messages.ts';

interface Delivery {
  path: string;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
  at: number;
}

let emu: PubSubEmulatorHandle;
let pubsub: PubSub;
let server: Server;
let base: string;
const deliveries: Delivery[] = [];
// Per-path status to answer; a function gets the delivery count so far for that message.
const answer = new Map<string, (messageId: string, n: number) => number>();

before(async () => {
  emu = await startPubSubEmulator({ projectId: 'htbase-test' });
  pubsub = new PubSub({ projectId: emu.projectId, apiEndpoint: emu.emulatorHost });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      const path = req.url ?? '/';
      deliveries.push({ path, body, headers: req.headers, at: Date.now() });
      const id = body?.message?.messageId ?? '';
      const n = deliveries.filter(
        (d) => d.path === path && (d.body as { message?: { messageId?: string } }).message?.messageId === id,
      ).length;
      res.statusCode = (answer.get(path) ?? (() => 204))(id, n);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  await ensureTopology(pubsub, {
    pushEndpoints: {
      browser: `${base}/browser`,
      monolith: `${base}/monolith`,
      articleChanged: `${base}/changed`,
      deadLetter: `${base}/dead`,
    },
    ackDeadlineSeconds: 10,
    maxDeliveryAttempts: 5,
    minBackoffSeconds: 0,
    maxBackoffSeconds: 1,
  });
});

after(async () => {
  await pubsub?.close();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server?.closeAllConnections();
  await emu?.stop();
});

async function waitFor<T>(fn: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const job = (articleId = randomUUID()) => ({
  v: 1 as const,
  articleId,
  url: 'https://example.com/a',
  formats: ['pdf' as const],
  reason: 'submit' as const,
  requestedAt: new Date().toISOString(),
});
const msgId = (d: Delivery) => (d.body as { message: { messageId: string } }).message.messageId;

test('ensureTopology creates every topic and push subscription, and is idempotent', async () => {
  const [topics] = await pubsub.getTopics();
  const names = topics.map((t) => t.name.split('/').pop()).sort();
  assert.deepEqual(names, Object.values(TOPICS).sort());

  const specs = subscriptionSpecs({
    browser: `${base}/browser`,
    monolith: `${base}/monolith`,
    articleChanged: `${base}/changed`,
    deadLetter: `${base}/dead`,
  });
  const [md] = await pubsub.subscription(specs[0].name).getMetadata();
  assert.equal(md.pushConfig?.pushEndpoint, `${base}/browser`);
  assert.equal(md.ackDeadlineSeconds, 10);
  assert.equal(md.deadLetterPolicy?.deadLetterTopic, `projects/htbase-test/topics/${TOPICS.captureBrowserDead}`);
  assert.equal(md.deadLetterPolicy?.maxDeliveryAttempts, 5);
  assert.equal(Number(md.retryPolicy?.maximumBackoff?.seconds), 1);

  // A second run (a redeploy) updates in place: a different ack deadline and an OIDC push config.
  const again = await ensureTopology(pubsub, {
    pushEndpoints: {
      browser: `${base}/browser`,
      monolith: `${base}/monolith`,
      articleChanged: `${base}/changed`,
      deadLetter: `${base}/dead`,
    },
    ackDeadlineSeconds: 12,
    maxDeliveryAttempts: 5,
    minBackoffSeconds: 0,
    maxBackoffSeconds: 1,
    oidc: { serviceAccountEmail: 'pusher@htbase-test.iam.gserviceaccount.com', audience: 'https://workers.example' },
  });
  assert.ok(again.subscriptions.every((s) => s.action === 'updated'));
  const [md2] = await pubsub.subscription(specs[0].name).getMetadata();
  assert.equal(md2.ackDeadlineSeconds, 12);
  assert.equal(md2.pushConfig?.oidcToken?.serviceAccountEmail, 'pusher@htbase-test.iam.gserviceaccount.com');
  assert.equal(md2.pushConfig?.oidcToken?.audience, 'https://workers.example');
  assert.equal(md2.deadLetterPolicy?.maxDeliveryAttempts, 5);
});

test('a published job is pushed to the worker endpoint in an envelope decodePush accepts', async () => {
  const publisher = createPubSubPublisher({ pubsub });
  const j = job();
  const t0 = Date.now();
  const id = await publisher.publish(TOPICS.captureBrowser, j, { articleId: j.articleId });
  const d = await waitFor(
    () => deliveries.find((x) => x.path === '/browser' && msgId(x) === id),
    10_000,
    'push delivery',
  );
  const decoded = decodePush(CaptureJobV1, d.body);
  assert.deepEqual(decoded.data, j);
  assert.equal(decoded.messageId, id);
  assert.equal(decoded.attributes.articleId, j.articleId);
  assert.match(String((d.body as { subscription: string }).subscription), /capture-browser-push$/);
  assert.equal(d.headers['content-type'], 'application/json');
  process.stderr.write(`# publish->push latency ${d.at - t0} ms\n`);

  const change = { v: 1 as const, articleId: j.articleId, version: 3, deleted: false };
  const id2 = await publisher.publish(TOPICS.articleChanged, change);
  const d2 = await waitFor(
    () => deliveries.find((x) => x.path === '/changed' && msgId(x) === id2),
    10_000,
    'article-changed delivery',
  );
  assert.deepEqual(decodePush(ArticleChangedV1, d2.body).data, change);
  await publisher.close();
});

test('a non-2xx answer gets the same message redelivered until it is acknowledged', async () => {
  answer.set('/browser', (_id, n) => (n < 3 ? 503 : 204));
  try {
    const publisher = createPubSubPublisher({ pubsub });
    const id = await publisher.publish(TOPICS.captureBrowser, job());
    const got = await waitFor(
      () => {
        const mine = deliveries.filter((x) => x.path === '/browser' && msgId(x) === id);
        return mine.length >= 3 ? mine : undefined;
      },
      20_000,
      'three deliveries',
    );
    assert.deepEqual(
      new Set(got.map((d) => JSON.stringify((d.body as { message: { data: string } }).message.data))).size,
      1,
    );
    // Acknowledged on the third: no fourth delivery follows.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(deliveries.filter((x) => x.path === '/browser' && msgId(x) === id).length, 3);
  } finally {
    answer.delete('/browser');
  }
});

test('a poison message moves to the dead-letter topic and is pushed to the dead-letter endpoint', async () => {
  answer.set('/monolith', () => 500);
  try {
    const publisher = createPubSubPublisher({ pubsub });
    const j = job();
    const id = await publisher.publish(TOPICS.captureMonolith, j, { articleId: j.articleId });
    const dead = await waitFor(
      () => deliveries.find((x) => x.path === '/dead' && decodeSafe(x)?.data.articleId === j.articleId),
      60_000,
      'dead-letter delivery',
    );
    const attempts = deliveries.filter((x) => x.path === '/monolith' && msgId(x) === id).length;
    assert.equal(attempts, 5, 'delivered maxDeliveryAttempts times before dead-lettering');
    const decoded = decodePush(CaptureJobV1, dead.body);
    assert.deepEqual(decoded.data, j);
    assert.equal(decoded.attributes.articleId, j.articleId);
    assert.equal(decoded.attributes.CloudPubSubDeadLetterSourceDeliveryCount, '5');
    assert.match(String((dead.body as { subscription: string }).subscription), /capture-monolith-dead-push$/);
  } finally {
    answer.delete('/monolith');
  }
});

function decodeSafe(d: Delivery) {
  try {
    return decodePush(CaptureJobV1, d.body);
  } catch {
    return undefined;
  }
}

test("a stack's topic prefix: the publisher sends to `<prefix><topic>`, never to the bare topic", async () => {
  const [topic] = await pubsub.createTopic(`stg-${TOPICS.captureBrowser}`);
  const [sub] = await topic.createSubscription(`stg-pull-${randomUUID().slice(0, 8)}`);
  const publisher = createPubSubPublisher({ pubsub, topicPrefix: 'stg-' });
  const j = job();
  const id = await publisher.publish(TOPICS.captureBrowser, j);
  const got = await new Promise<{ id: string; data: unknown }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no message on the prefixed topic')), 10_000);
    sub.on('message', (m) => {
      m.ack();
      clearTimeout(timer);
      resolve({ id: m.id, data: JSON.parse(m.data.toString('utf8')) });
    });
  });
  await sub.close();
  assert.equal(got.id, id);
  assert.deepEqual(got.data, j);
  // The unprefixed topic's push subscription saw nothing of it.
  assert.equal(deliveries.filter((d) => msgId(d) === id).length, 0);
  await publisher.close();
});

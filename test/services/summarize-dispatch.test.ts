// The cloud dispatch path through the Functions Framework: Eventarc storage CloudEvents (binary and
// structured mode) -> summarize -> the real @google-cloud/tasks client (REST fallback) -> fake Cloud Tasks
// -> summarizeTask over HTTP -> fake Gemini. Measures the dispatch rate and concurrency at the fakes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ff from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { CloudTasksClient } from '@google-cloud/tasks';
import { PassThroughClient } from 'google-auth-library';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createLocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { createInProcessBus, type InProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { storageKey } from '../../shared/core/formats.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { createSummarizeHandlers, toObjectFinalized } from '../../functions/summarize/app.ts';
import { createCloudTasksQueue } from '../../shared/adapters/cloud-tasks.ts';
import { createGeminiSummarizer } from '../../functions/summarize/gemini.ts';
import { createSummarizeService } from '../../functions/summarize/service.ts';
import { startFakeCloudTasks, type FakeCloudTasks } from '../fakes/cloud-tasks-server.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-server.ts';
import { adminId } from '../support/owners.ts';

const RATE = 10; // the queue's maxDispatchesPerSecond (infrastructure sets it in the cloud)
const CONCURRENCY = 3; // the queue's maxConcurrentDispatches
const ARTICLES = 50;
const BUCKET = 'htbase-artifacts-test';

let database: DatabaseHandle;
let dir: string;
let gemini: FakeGemini;
let tasks: FakeCloudTasks;
let client: CloudTasksClient;
let bus: InProcessBus;
let eventServer: Server;
let taskServer: Server;
let eventUrl: string;
const blobsRoot = () => join(dir, 'blobs');

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

before(async () => {
  database = await openDatabase({ memory: true });
  dir = mkdtempSync(join(tmpdir(), 'htbase-dispatch-'));
  gemini = await startFakeGemini();
  tasks = await startFakeCloudTasks({
    maxDispatchesPerSecond: RATE,
    maxConcurrentDispatches: CONCURRENCY,
    maxAttempts: 5,
    minBackoffMs: 100,
  });
  client = new CloudTasksClient({
    fallback: true,
    apiEndpoint: '127.0.0.1',
    port: tasks.port,
    protocol: 'http',
    authClient: new PassThroughClient(),
    projectId: 'demo-proj',
  } as unknown as ConstructorParameters<typeof CloudTasksClient>[0]);
  bus = createInProcessBus({ logger: silentLogger() });

  // The task target first: its URL goes into every task.
  let handlers!: ReturnType<typeof createSummarizeHandlers>;
  ff.http('summarizeTaskUnderTest', (req, res) => handlers.onTask(req, res));
  ff.cloudEvent('summarizeUnderTest', (ce: ff.CloudEvent<unknown>) => handlers.onCloudEvent(ce));
  taskServer = getTestServer('summarizeTaskUnderTest');
  eventServer = getTestServer('summarizeUnderTest');
  const taskUrl = await listen(taskServer);
  eventUrl = await listen(eventServer);

  const queue = createCloudTasksQueue({
    client,
    project: 'demo-proj',
    location: 'europe-west1',
    queue: 'summaries',
    handlerUrl: taskUrl,
    serviceAccountEmail: 'tasks@demo-proj.iam.gserviceaccount.com',
    logger: silentLogger(),
  });
  const summarizer = createGeminiSummarizer({
    mode: 'api-key',
    apiKey: 'k',
    baseUrl: gemini.url,
    timeoutMs: 5000,
    maxRetries: 1,
    tokenBudget: 8000,
    retryBaseMs: 10,
    logger: silentLogger(),
  });
  const service = createSummarizeService({
    db: database.db,
    blobs: createLocalBlobStore({ root: blobsRoot() }),
    tasks: queue,
    summarizer,
    publisher: bus,
    logger: silentLogger(),
  });
  handlers = createSummarizeHandlers({ service, logger: silentLogger(), maxTaskAttempts: 5 });
});

after(async () => {
  await tasks.close();
  await client.close();
  await gemini.close();
  await bus.close();
  for (const s of [eventServer, taskServer]) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

async function makeArticle(n: number): Promise<string> {
  const id = randomUUID();
  await database.db
    .insertInto('articles')
    .values({
      id,
      url: `https://example.test/${n}`,
      normalized_url: `https://example.test/${n}`,
      status: 'running',
      owner_id: await adminId(database.db),
    })
    .execute();
  const text = `Article ${n} reports that the council approved plan number ${n}. It will be built next year. Residents are divided.`;
  await createLocalBlobStore({ root: blobsRoot() }).put(
    storageKey(id, 'readable'),
    JSON.stringify({ title: `Article ${n}`, lang: 'en', text, html: '' }),
    {
      contentType: 'application/json',
      metadata: { articleId: id, format: 'readable' },
    },
  );
  return id;
}

function objectData(id: string) {
  return {
    kind: 'storage#object',
    bucket: BUCKET,
    name: storageKey(id, 'readable'),
    generation: '1',
    contentType: 'application/json',
    size: '180',
    metadata: { articleId: id, format: 'readable' },
  };
}

/** Eventarc binary mode: attributes as ce-* headers, the object resource as the JSON body. */
async function postBinary(id: string, eventId: string): Promise<number> {
  const res = await fetch(eventUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.storage.object.v1.finalized',
      'ce-source': `//storage.googleapis.com/projects/_/buckets/${BUCKET}`,
      'ce-subject': `objects/${storageKey(id, 'readable')}`,
      'ce-id': eventId,
      'ce-time': new Date().toISOString(),
    },
    body: JSON.stringify(objectData(id)),
  });
  await res.arrayBuffer();
  return res.status;
}

/** Structured mode: the whole event as application/cloudevents+json. */
async function postStructured(id: string, eventId: string): Promise<number> {
  const res = await fetch(eventUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json' },
    body: JSON.stringify({
      specversion: '1.0',
      type: 'google.cloud.storage.object.v1.finalized',
      source: `//storage.googleapis.com/projects/_/buckets/${BUCKET}`,
      subject: `objects/${storageKey(id, 'readable')}`,
      id: eventId,
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: objectData(id),
    }),
  });
  await res.arrayBuffer();
  return res.status;
}

test('toObjectFinalized maps the storage event and refuses other types', () => {
  const id = randomUUID();
  const base = {
    specversion: '1.0',
    id: 'e1',
    source: `//storage.googleapis.com/projects/_/buckets/${BUCKET}`,
    subject: `objects/${storageKey(id, 'readable')}`,
    time: '2025-01-01T00:00:00Z',
  };
  const ev = toObjectFinalized({
    ...base,
    type: 'google.cloud.storage.object.v1.finalized',
    data: objectData(id),
  } as ff.CloudEvent<unknown>);
  assert.deepEqual(ev, {
    eventId: 'e1',
    bucket: BUCKET,
    name: storageKey(id, 'readable'),
    contentType: 'application/json',
    size: 180,
    metadata: { articleId: id, format: 'readable' },
    time: '2025-01-01T00:00:00Z',
  });
  // Without data, subject and source still name the object.
  assert.equal(
    toObjectFinalized({ ...base, type: 'google.cloud.storage.object.v1.finalized' } as ff.CloudEvent<unknown>)?.name,
    storageKey(id, 'readable'),
  );
  assert.equal(
    toObjectFinalized({
      ...base,
      type: 'google.cloud.storage.object.v1.deleted',
      data: objectData(id),
    } as ff.CloudEvent<unknown>),
    null,
  );
});

test('the same finalized event three times (both modes) creates one task and makes one model call', async () => {
  const id = await makeArticle(0);
  const eventId = randomUUID();
  assert.deepEqual(
    [await postBinary(id, eventId), await postStructured(id, eventId), await postBinary(id, eventId)],
    [204, 204, 204],
  );
  await tasks.idle();
  const mine = tasks.tasks.filter((t) => t.name.endsWith(id));
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.oidcServiceAccount, 'tasks@demo-proj.iam.gserviceaccount.com');
  assert.equal(JSON.parse(mine[0]!.body.toString('utf8')).articleId, id);
  assert.equal(mine[0]!.state, 'succeeded');
  assert.equal(gemini.requests.filter((r) => r.prompt.includes('Article 0 reports')).length, 1);
  // A new event id for the same text is refused by Cloud Tasks' name check, before any model call.
  assert.equal(await postStructured(id, randomUUID()), 204);
  await tasks.idle();
  assert.equal(gemini.requests.filter((r) => r.prompt.includes('Article 0 reports')).length, 1);
  assert.equal(
    (await database.db.selectFrom('summaries').select('provider').where('article_id', '=', id).executeTakeFirst())
      ?.provider,
    'gemini',
  );
});

test(`${ARTICLES} articles finalized at once never exceed the queue's dispatch rate or concurrency`, async () => {
  gemini.requests.length = 0;
  const before = tasks.dispatches.length;
  const ids = [];
  for (let i = 1; i <= ARTICLES; i++) ids.push(await makeArticle(i));
  // Each model call takes 250 ms, so concurrency, not only rate, is exercised.
  const slow = gemini.requests;
  gemini.setLatency(250);
  const t0 = Date.now();
  const statuses = await Promise.all(
    ids.map((id, i) => (i % 2 ? postBinary(id, randomUUID()) : postStructured(id, randomUUID()))),
  );
  assert.ok(
    statuses.every((s) => s === 204),
    `statuses: ${statuses}`,
  );
  await tasks.idle();
  const elapsed = Date.now() - t0;
  gemini.setLatency(0);

  const d = tasks.dispatches.slice(before);
  assert.equal(d.length, ARTICLES);
  assert.ok(d.every((x) => x.status === 200));
  const at = d.map((x) => x.at).sort((a, b) => a - b);
  // In any window of one second there are at most RATE dispatches.
  for (let i = 0; i + RATE < at.length; i++)
    assert.ok(at[i + RATE]! - at[i]! >= 1000 - 2, `more than ${RATE} dispatches within 1 s at index ${i}`);
  const maxInWindow = Math.max(...at.map((t) => at.filter((u) => u >= t && u < t + 1000).length));
  assert.ok(maxInWindow <= RATE, `peak ${maxInWindow} dispatches per second`);
  // Model calls are made by the handler, so they follow the same pace, give or take the handler's own
  // latency between dispatch and model call (a loaded 2-core CI machine showed up to ~100 ms of jitter).
  assert.equal(slow.length, ARTICLES);
  const g = slow.map((r) => r.receivedAt).sort((a, b) => a - b);
  for (let i = 0; i + RATE < g.length; i++)
    assert.ok(g[i + RATE]! - g[i]! >= 1000 - 250, `more than ${RATE} model calls within 1 s`);
  assert.ok(elapsed >= ((ARTICLES - RATE) / RATE) * 1000, `50 tasks at ${RATE}/s finished in ${elapsed} ms`);
  // Concurrency: dispatches in flight at once never exceed the queue's maxConcurrentDispatches.
  const peak = Math.max(...d.map((x) => d.filter((y) => y.at <= x.at && y.at + y.ms > x.at).length));
  assert.ok(peak <= CONCURRENCY, `peak concurrency ${peak}`);
  const stored = await database.db
    .selectFrom('summaries')
    .select('article_id')
    .where('article_id', 'in', ids)
    .execute();
  assert.equal(stored.length, ARTICLES);
  console.log(
    `# ${ARTICLES} tasks dispatched in ${elapsed} ms; peak ${maxInWindow}/s (limit ${RATE}), peak concurrency ${peak} (limit ${CONCURRENCY})`,
  );
});

test('a summarizeTask that fails transiently answers non-2xx and Cloud Tasks retries it', async () => {
  const id = await makeArticle(999);
  gemini.script({ kind: 'error', status: 503 }, { kind: 'error', status: 503 });
  assert.equal(await postBinary(id, randomUUID()), 204);
  await tasks.idle();
  const mine = tasks.dispatches.filter((x) => x.task.endsWith(id));
  assert.deepEqual(
    mine.map((x) => x.status),
    [503, 200],
  );
  assert.ok(
    await database.db.selectFrom('summaries').select('article_id').where('article_id', '=', id).executeTakeFirst(),
  );
});

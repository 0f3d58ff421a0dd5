// The summarize service in embedded wiring (PGlite, local blob store, in-process bus and task queue)
// against the fake Gemini server: dedup of finalized events, stored outcomes and recorded failures,
// the extractive fallback, on-demand requests, and offline summaries in the article's language.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createLocalBlobStore, type LocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { createInProcessBus, type InProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { storageKey } from '../../shared/core/formats.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { ArticleChangedV1, TOPICS, decodePush, type SummaryTask } from '../../shared/core/messages.ts';
import type { ObjectFinalized, Summarizer } from '../../shared/core/ports.ts';
import { createSummarizeService, type SummarizeService } from '../../functions/summarize/service.ts';
import { sha256Hex } from '../../shared/jobs/summary-request.ts';
import { createInProcessTaskQueue, type InProcessTaskQueue } from '../../functions/summarize/in-process-queue.ts';
import { createGeminiSummarizer } from '../../functions/summarize/gemini.ts';
import { createExtractiveSummarizer, detectLanguage } from '../../functions/summarize/extractive.ts';
import { findSummaryFailure } from '../../shared/db/summaries.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-server.ts';
import { adminId } from '../support/owners.ts';

const EN = `Portland approved forty miles of protected bike lanes on Tuesday, to be built by the end of next year.
Cycling has grown quickly in the city since the pandemic, and the council wants the bike lanes to keep riders safe.
Shop owners downtown worry that the bike lanes will take away parking spaces their customers rely on.
The plan costs twenty million dollars, and the state will pay for part of it through a transport grant.`;
const FR = `Le conseil municipal de Lyon a voté mardi soir un nouveau plan pour les pistes cyclables de la ville.
Ce plan prévoit la création de quarante kilomètres de pistes cyclables d'ici à la fin de l'année prochaine.
Les commerçants du centre-ville craignent cependant une baisse de la fréquentation de leurs boutiques.
Le budget total du plan s'élève à vingt millions d'euros, financés en partie par la métropole.`;

let database: DatabaseHandle;
let dir: string;
let blobs: LocalBlobStore;
let gemini: FakeGemini;
const finalized: ObjectFinalized[] = [];

before(async () => {
  database = await openDatabase({ memory: true });
  dir = mkdtempSync(join(tmpdir(), 'htbase-summarize-'));
  blobs = createLocalBlobStore({ root: dir });
  blobs.onFinalize((ev) => finalized.push(ev));
  gemini = await startFakeGemini();
});
after(async () => {
  await gemini.close();
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  gemini.requests.length = 0;
});

/** One service wired like embedded mode; `close` stops its queue and bus. */
function wire(summarizer: Summarizer, fallback?: Summarizer) {
  const bus: InProcessBus = createInProcessBus({ logger: silentLogger(), minBackoffMs: 10 });
  const changed: number[] = [];
  bus.subscribe(TOPICS.articleChanged, 'test-article-changed', async (body) => {
    changed.push(decodePush(ArticleChangedV1, body).data.version);
    return 204;
  });
  let service!: SummarizeService;
  // hold() keeps dispatched tasks from running until its release: a test can then ask twice before the first runs.
  let gate: Promise<void> = Promise.resolve();
  const queue: InProcessTaskQueue = createInProcessTaskQueue({
    handler: async (payload, info) => {
      await gate;
      await service.runTask(payload as SummaryTask, { finalAttempt: info.attempt >= info.maxAttempts });
    },
    ratePerSecond: 50,
    maxConcurrent: 4,
    maxAttempts: 3,
    minBackoffMs: 10,
    logger: silentLogger(),
  });
  service = createSummarizeService({
    db: database.db,
    blobs,
    tasks: queue,
    summarizer,
    fallback,
    publisher: bus,
    logger: silentLogger(),
  });
  return {
    service,
    queue,
    changed,
    hold: () => {
      let release!: () => void;
      gate = new Promise((r) => (release = r));
      return release;
    },
    settle: async () => {
      await queue.drain();
      await bus.idle();
    },
    close: async () => {
      await queue.close();
      await bus.close();
    },
  };
}

const gem = (over: Partial<Parameters<typeof createGeminiSummarizer>[0]> = {}) =>
  createGeminiSummarizer({
    mode: 'api-key',
    apiKey: 'k',
    baseUrl: gemini.url,
    timeoutMs: 5000,
    maxRetries: 2,
    tokenBudget: 8000,
    retryBaseMs: 10,
    logger: silentLogger(),
    ...over,
  });

/** Creates an article row and writes its readable.json through the blob store; returns the finalized event. */
async function article(
  text: string,
  opts: { title?: string; lang?: string | null } = {},
): Promise<{ id: string; ev: ObjectFinalized }> {
  const id = randomUUID();
  await database.db
    .insertInto('articles')
    .values({
      id,
      url: `https://example.test/${id}`,
      normalized_url: `https://example.test/${id}`,
      status: 'running',
      owner_id: await adminId(database.db),
    })
    .execute();
  const key = storageKey(id, 'readable');
  const body = JSON.stringify({
    title: opts.title ?? 'An article',
    byline: null,
    lang: opts.lang ?? null,
    text,
    html: `<p>${text}</p>`,
  });
  await blobs.put(key, body, { contentType: 'application/json', metadata: { articleId: id, format: 'readable' } });
  await new Promise((r) => setImmediate(r)); // the store announces finalization on a microtask
  const ev = finalized.findLast((e) => e.name === key);
  assert.ok(ev, 'the blob store fired no finalized event');
  return { id, ev };
}

const versionOf = async (id: string) =>
  Number(
    (await database.db.selectFrom('articles').select('version').where('id', '=', id).executeTakeFirstOrThrow()).version,
  );
/** A summary task for the English text, as the queue would hand it to runTask. */
const taskFor = (articleId: string): SummaryTask => ({
  v: 1,
  articleId,
  inputSha256: sha256Hex(EN),
  force: false,
  reason: 'finalized',
  requestedAt: new Date().toISOString(),
});
const summaryOf = (id: string) =>
  database.db.selectFrom('summaries').selectAll().where('article_id', '=', id).executeTakeFirst();

test('the same finalized event three times gives one model call, one summary, a version bump', async () => {
  const w = wire(gem());
  try {
    const { id, ev } = await article(EN, { lang: 'en' });
    const v0 = await versionOf(id);
    const outcomes = [];
    for (let i = 0; i < 3; i++) outcomes.push(await w.service.onObjectFinalized(ev));
    // A second event id for the same object (a re-finalize) collapses on the task name.
    outcomes.push(await w.service.onObjectFinalized({ ...ev, eventId: `${ev.eventId}-again` }));
    assert.deepEqual(outcomes, ['dispatched', 'duplicate', 'duplicate', 'duplicate']);
    await w.settle();
    assert.equal(gemini.requests.length, 1);
    const s = await summaryOf(id);
    assert.equal(s?.provider, 'gemini');
    assert.equal(s?.model, 'gemini-2.5-flash');
    assert.equal(s?.input_sha256, sha256Hex(EN));
    assert.deepEqual(s?.key_points, [
      'Portland approved forty miles of protected bike lanes on Tuesday, to be built by the end of next year.',
    ]);
    assert.ok((s?.input_tokens ?? 0) > 0 && (s?.output_tokens ?? 0) > 0);
    const v1 = await versionOf(id);
    assert.ok(v1 > v0);
    assert.deepEqual(w.changed, [v1]);
    // Once stored, even a new event for the same text does not call the model again.
    assert.equal(await w.service.onObjectFinalized({ ...ev, eventId: 'yet-another' }), 'duplicate');
    await w.settle();
    assert.equal(gemini.requests.length, 1);
  } finally {
    await w.close();
  }
});

test('objects other than readable.json are ignored', async () => {
  const w = wire(gem());
  try {
    const { id, ev } = await article(EN);
    assert.equal(
      await w.service.onObjectFinalized({ ...ev, eventId: randomUUID(), name: storageKey(id, 'pdf') }),
      'ignored',
    );
    assert.equal(
      await w.service.onObjectFinalized({ ...ev, eventId: randomUUID(), name: 'elsewhere/readable.json' }),
      'ignored',
    );
    await w.settle();
    assert.equal(gemini.requests.length, 0);
  } finally {
    await w.close();
  }
});

test('a malformed answer is retried once, then recorded as invalid_model_output', async () => {
  const w = wire(gem());
  try {
    const { id, ev } = await article(EN);
    gemini.script({ kind: 'text', text: 'not json' }, { kind: 'text', text: '{"summary": 1}' });
    await w.service.onObjectFinalized(ev);
    await w.settle();
    assert.equal(gemini.requests.length, 2);
    assert.equal(await summaryOf(id), undefined);
    const f = await findSummaryFailure(database.db, id);
    assert.equal(f?.code, 'invalid_model_output');
    assert.equal(f?.provider, 'gemini');
    assert.equal(f?.input_sha256, sha256Hex(EN));
    assert.equal(w.changed.length, 1, 'the failure is reflected in the article version');
  } finally {
    await w.close();
  }
});

test('a safety block is recorded as safety_blocked; with the fallback configured, the extractive summary says so', async () => {
  const w = wire(gem());
  try {
    const { id, ev } = await article(EN);
    gemini.script({ kind: 'safety', where: 'candidate' });
    await w.service.onObjectFinalized(ev);
    await w.settle();
    assert.equal(gemini.requests.length, 1);
    assert.equal((await findSummaryFailure(database.db, id))?.code, 'safety_blocked');
    assert.equal(await summaryOf(id), undefined);
  } finally {
    await w.close();
  }

  const wf = wire(gem(), createExtractiveSummarizer());
  try {
    const { id, ev } = await article(EN);
    gemini.requests.length = 0;
    gemini.script({ kind: 'safety', where: 'prompt' });
    await wf.service.onObjectFinalized(ev);
    await wf.settle();
    assert.equal(gemini.requests.length, 1);
    const s = await summaryOf(id);
    assert.equal(s?.provider, 'extractive');
    assert.equal(s?.model, null);
    assert.equal(s?.lang, 'en');
    assert.equal((await findSummaryFailure(database.db, id))?.code, 'safety_blocked');
  } finally {
    await wf.close();
  }
});

test('429 on every attempt: the queue retries, and its last attempt records the failure', async () => {
  const w = wire(gem({ maxRetries: 0 }));
  try {
    const { id, ev } = await article(EN);
    gemini.script(...Array.from({ length: 3 }, () => ({ kind: 'error' as const, status: 429 })));
    await w.service.onObjectFinalized(ev);
    await w.settle();
    assert.equal(gemini.requests.length, 3, 'one call per queue attempt');
    assert.equal((await findSummaryFailure(database.db, id))?.code, 'gemini_rate_limited');
    assert.equal(w.queue.stats.dropped, 0);
  } finally {
    await w.close();
  }
});

test('request(): unchanged for the same text, force regenerates, a failure may be retried once', async () => {
  const w = wire(gem());
  try {
    const { id, ev } = await article(EN);
    await w.service.onObjectFinalized(ev);
    await w.settle();
    assert.equal(gemini.requests.length, 1);
    assert.equal(await w.service.request(id, { force: false }), 'unchanged');
    assert.equal(await w.service.request(id, { force: true }), 'dispatched');
    await w.settle();
    assert.equal(gemini.requests.length, 2);

    const other = await article(FR);
    gemini.script({ kind: 'safety', where: 'prompt' });
    await w.service.onObjectFinalized(other.ev);
    await w.settle();
    assert.equal((await findSummaryFailure(database.db, other.id))?.code, 'safety_blocked');
    // The retry must not have run (and cleared the failure) before the second request is made.
    const release = w.hold();
    assert.equal(await w.service.request(other.id, { force: false }), 'dispatched');
    assert.equal(await w.service.request(other.id, { force: false }), 'duplicate');
    release();
    await w.settle();
    assert.equal((await summaryOf(other.id))?.provider, 'gemini');
    assert.equal(await findSummaryFailure(database.db, other.id), undefined, 'a success clears the failure');

    await assert.rejects(w.service.request(randomUUID(), { force: false }), { code: 'not_found' });
  } finally {
    await w.close();
  }
});

test('offline, the extractive summary is in the article language (English and French)', async () => {
  const w = wire(createExtractiveSummarizer());
  try {
    const en = await article(EN, { title: 'Portland approves bike lanes', lang: null });
    const fr = await article(FR, { title: 'Lyon vote un plan pour les pistes cyclables', lang: null });
    assert.equal(await w.service.onObjectFinalized(en.ev), 'dispatched');
    assert.equal(await w.service.onObjectFinalized(fr.ev), 'dispatched');
    await w.settle();
    assert.equal(gemini.requests.length, 0);
    const se = await summaryOf(en.id);
    const sf = await summaryOf(fr.id);
    assert.equal(se?.provider, 'extractive');
    assert.equal(se?.lang, 'en');
    assert.equal(detectLanguage(se!.summary), 'en');
    assert.ok(EN.replace(/\s+/g, ' ').includes(se!.summary.split('. ')[0]!));
    assert.equal(sf?.provider, 'extractive');
    assert.equal(sf?.lang, 'fr');
    assert.equal(detectLanguage(sf!.summary), 'fr');
    assert.ok(FR.replace(/\s+/g, ' ').includes(sf!.summary.split('. ')[0]!));
    assert.ok(sf!.tags.includes('pistes'));
  } finally {
    await w.close();
  }
});

test('a fallback that fails too: the first failure is recorded and the fallback error goes to the queue', async () => {
  const broken: Summarizer = {
    provider: 'extractive',
    summarize: async () => {
      throw new Error('the fallback broke');
    },
  };
  const w = wire(gem({ maxRetries: 0 }), broken);
  try {
    const { id } = await article(EN);
    gemini.script({ kind: 'safety', where: 'prompt' });
    await assert.rejects(w.service.runTask(taskFor(id), { finalAttempt: true }), /the fallback broke/);
    assert.equal((await findSummaryFailure(database.db, id))?.code, 'safety_blocked');
    assert.equal(await summaryOf(id), undefined);
  } finally {
    await w.close();
  }
});

test('an article deleted while it was summarized: nothing is stored and nothing announced', async () => {
  const { id } = await article(EN);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const waiting: Summarizer = {
    provider: 'extractive',
    summarize: async (input) => {
      entered();
      await held;
      return createExtractiveSummarizer().summarize(input);
    },
  };
  const w = wire(waiting);
  try {
    const running = w.service.runTask(taskFor(id));
    await inside;
    await database.db.deleteFrom('articles').where('id', '=', id).execute();
    release();
    assert.equal(await running, 'unchanged');
    assert.equal(await summaryOf(id), undefined);
    await w.settle();
    assert.deepEqual(w.changed, [], 'no article-changed for a deleted article');
  } finally {
    await w.close();
  }
});

// The summary repository (shared/db/summaries.ts) and processed events (shared/db/events.ts) on PGlite:
// upsert replaces, a failure is recorded, replaced and cleared, both go with their article, event ids count once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createArticle, deleteArticle } from '../../shared/db/articles.ts';
import {
  clearSummaryFailure,
  findSummary,
  findSummaryFailure,
  recordSummaryFailure,
  upsertSummary,
} from '../../shared/db/summaries.ts';
import { isEventProcessed, markEventProcessed } from '../../shared/db/events.ts';
import type { SummaryResult } from '../../shared/core/ports.ts';
import { adminId } from '../support/owners.ts';

let dbh: DatabaseHandle;

before(async () => {
  dbh = await openDatabase({ memory: true });
});
after(async () => {
  await dbh?.close();
});

async function newArticle(): Promise<string> {
  const id = randomUUID();
  const url = `https://example.com/${id}`;
  await createArticle(dbh.db, {
    id,
    ownerId: await adminId(dbh.db),
    url,
    normalizedUrl: url,
    formats: ['readable'],
    dedupWindowSeconds: 0,
    force: true,
    leaseSeconds: 300,
  });
  return id;
}

const result = (summary: string): SummaryResult => ({
  provider: 'gemini',
  model: 'gemini-2.5-flash',
  summary,
  keyPoints: ['one', 'two'],
  tags: ['news'],
  lang: 'en',
  inputTokens: 1200,
  outputTokens: 80,
});

test('upsertSummary stores the summary and a second one replaces it', async () => {
  const id = await newArticle();
  assert.equal(await findSummary(dbh.db, id), undefined);
  await upsertSummary(dbh.db, id, 'a'.repeat(64), result('First.'));
  const first = (await findSummary(dbh.db, id))!;
  assert.equal(first.summary, 'First.');
  assert.deepEqual(first.key_points, ['one', 'two']);
  assert.deepEqual(first.tags, ['news']);
  assert.equal(first.provider, 'gemini');
  assert.equal(first.input_sha256, 'a'.repeat(64));
  assert.equal(first.input_tokens, 1200);
  await upsertSummary(dbh.db, id, 'b'.repeat(64), { ...result('Second.'), provider: 'extractive', model: null });
  const second = (await findSummary(dbh.db, id))!;
  assert.equal(second.summary, 'Second.');
  assert.equal(second.provider, 'extractive');
  assert.equal(second.model, null);
  assert.equal(second.input_sha256, 'b'.repeat(64));
});

test('a summary failure is recorded with its code, replaced by the next one, and cleared', async () => {
  const id = await newArticle();
  assert.equal(await findSummaryFailure(dbh.db, id), undefined);
  const failure = { articleId: id, provider: 'gemini', model: null, inputSha256: 'c'.repeat(64) };
  await recordSummaryFailure(dbh.db, { ...failure, code: 'safety_blocked', message: 'declined' });
  const f = (await findSummaryFailure(dbh.db, id))!;
  assert.equal(f.code, 'safety_blocked');
  assert.equal(f.message, 'declined');
  assert.equal(f.input_sha256, 'c'.repeat(64));
  assert.ok(f.created_at instanceof Date);
  await recordSummaryFailure(dbh.db, { ...failure, code: 'input_too_long', message: 'x'.repeat(3000) });
  const g = (await findSummaryFailure(dbh.db, id))!;
  assert.equal(g.code, 'input_too_long', 'one row per article: the last failure');
  assert.equal(g.message.length, 2000);
  await clearSummaryFailure(dbh.db, id);
  assert.equal(await findSummaryFailure(dbh.db, id), undefined);
});

test('deleting the article takes its summary and its failure with it', async () => {
  const id = await newArticle();
  await upsertSummary(dbh.db, id, 'd'.repeat(64), result('Gone soon.'));
  await recordSummaryFailure(dbh.db, {
    articleId: id,
    provider: 'gemini',
    model: null,
    code: 'gemini_unavailable',
    message: '503',
    inputSha256: 'd'.repeat(64),
  });
  assert.equal((await deleteArticle(dbh.db, id))?.id, id);
  assert.equal(await findSummary(dbh.db, id), undefined);
  assert.equal(await findSummaryFailure(dbh.db, id), undefined);
});

test('an event id is processed once; checking does not record it', async () => {
  const eventId = `ev-${randomUUID()}`;
  assert.equal(await isEventProcessed(dbh.db, eventId), false);
  assert.equal(await isEventProcessed(dbh.db, eventId), false, 'a check records nothing');
  assert.equal(await markEventProcessed(dbh.db, eventId, 'object-finalized'), true);
  assert.equal(await markEventProcessed(dbh.db, eventId, 'object-finalized'), false, 'seen before');
  assert.equal(await isEventProcessed(dbh.db, eventId), true);
  const row = await dbh.db.selectFrom('processed_events').selectAll().where('id', '=', eventId).executeTakeFirst();
  assert.equal(row?.kind, 'object-finalized');
});

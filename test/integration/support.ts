// Helpers shared by the integration tests on the emulated topology: API calls with a key, polling, articles
// and capture jobs made by hand, the sync's logged outcomes, and the replica check (Firestore against Postgres).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Firestore, Timestamp } from '@google-cloud/firestore';
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import { createArticle } from '../../shared/db/articles.ts';
import type { Format } from '../../shared/core/formats.ts';
import { normalizeUrl } from '../../shared/core/url.ts';
import { adminId } from '../support/owners.ts';

export async function api<T = any>(
  base: string,
  key: string | null,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const { json, ...rest } = init;
  const res = await fetch(`${base}${path}`, {
    ...rest,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(rest.headers as Record<string, string>),
    },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
    signal: rest.signal ?? AbortSignal.timeout(30_000),
  });
  const ct = res.headers.get('content-type') ?? '';
  const body = (ct.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer())) as T;
  return { status: res.status, headers: res.headers, body };
}

/** Polls `probe` until it returns a value other than undefined; fails with `what` after `timeoutMs`. */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 90_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export const terminalStatus = (s: string) => ['complete', 'partial', 'failed'].includes(s);

export async function pgArticle(db: Kysely<Database>, id: string) {
  const article = await db.selectFrom('articles').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const artifacts = await db
    .selectFrom('artifacts')
    .selectAll()
    .where('article_id', '=', id)
    .orderBy('format')
    .execute();
  const summary = await db.selectFrom('summaries').selectAll().where('article_id', '=', id).executeTakeFirst();
  return { article, artifacts, summary };
}

/**
 * Asserts that `articles/{id}` in Firestore says what Postgres says: version, status, URLs, title, each
 * artifact's status/size/error code, the summary, and the timestamps.
 */
export async function assertReplicaMatches(db: Kysely<Database>, firestore: Firestore, id: string): Promise<void> {
  const { article, artifacts, summary } = await pgArticle(db, id);
  const snap = await firestore.collection('articles').doc(id).get();
  assert.ok(snap.exists, `articles/${id} exists in Firestore`);
  const d = snap.data()!;
  assert.equal(d.id, article.id);
  assert.equal(d.version, Number(article.version), 'version');
  assert.equal(d.status, article.status, 'status');
  assert.equal(d.url, article.url);
  assert.equal(d.finalUrl, article.final_url);
  assert.equal(d.title, article.title);
  assert.equal(d.deleted, false);
  assert.deepEqual(
    d.artifacts,
    Object.fromEntries(
      artifacts.map((a) => [
        a.format,
        { status: a.status, sizeBytes: a.size_bytes === null ? null : Number(a.size_bytes), errorCode: a.error_code },
      ]),
    ),
    'artifacts',
  );
  if (summary) {
    assert.deepEqual(d.summary, {
      provider: summary.provider,
      model: summary.model,
      summary: summary.summary,
      keyPoints: summary.key_points,
      tags: summary.tags,
      lang: summary.lang,
    });
  } else assert.equal(d.summary, null);
  assert.equal((d.createdAt as Timestamp).toDate().getTime(), new Date(article.created_at).getTime(), 'createdAt');
  assert.equal((d.updatedAt as Timestamp).toDate().getTime(), new Date(article.updated_at).getTime(), 'updatedAt');
}

/**
 * Waits until the replica equals Postgres in every field at one moment. Postgres can move on between a read of
 * it and a read of the replica (a summary bumps the version right after an artifact does), so the comparison is
 * repeated until it holds (convergence), and its last failure is the error at the deadline.
 */
export async function waitForReplica(
  db: Kysely<Database>,
  firestore: Firestore,
  id: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertReplicaMatches(db, firestore, id);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** An article with pending artifacts written straight to Postgres, with no capture message published. */
export async function pendingArticle(db: Kysely<Database>, url: string, formats: Format[]): Promise<string> {
  const id = randomUUID();
  const r = await createArticle(db, {
    id,
    ownerId: await adminId(db),
    url,
    normalizedUrl: normalizeUrl(url),
    formats,
    dedupWindowSeconds: 0,
    force: true,
    leaseSeconds: 300,
  });
  assert.equal(r.kind, 'created');
  return id;
}

/** A capture job message, as the API publishes it. */
export function captureJob(articleId: string, url: string, formats: Format[]) {
  return { v: 1, articleId, url, formats, reason: 'submit', requestedAt: new Date().toISOString() };
}

/** Waits until the article reaches a terminal status; resolves with its rows. */
export async function finished(db: Kysely<Database>, id: string, timeoutMs = 120_000) {
  return until(
    `article ${id} to finish`,
    async () => {
      const v = await pgArticle(db, id);
      return terminalStatus(v.article.status) ? v : undefined;
    },
    timeoutMs,
  );
}

/** The outcomes the sync function logged for one article's replica writes and deletes, in order. */
export function syncOutcomes(logFile: string, id: string): string[] {
  return readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes(id) && /"replica (write|delete)"/.test(l))
    .map((l) => JSON.parse(l).outcome as string);
}

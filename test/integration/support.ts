// Helpers shared by the integration tests on the emulated topology: API calls with a key, polling, and
// the replica check (the Firestore document read field by field against the Postgres rows).
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Firestore, Timestamp } from '@google-cloud/firestore';
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';

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

/** Waits until the replica carries Postgres's current version, then compares every field. */
export async function waitForReplica(
  db: Kysely<Database>,
  firestore: Firestore,
  id: string,
  timeoutMs = 60_000,
): Promise<void> {
  await until(
    `articles/${id} to reach the Postgres version`,
    async () => {
      const { article } = await pgArticle(db, id);
      const snap = await firestore.collection('articles').doc(id).get();
      return snap.exists && snap.get('version') === Number(article.version) ? true : undefined;
    },
    timeoutMs,
  );
  await assertReplicaMatches(db, firestore, id);
}

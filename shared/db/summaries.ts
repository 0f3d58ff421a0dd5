// Summary repository: the article's summary (read by the API and the replica, written by summarize) and the
// last permanent summary failure (summary_failures), so a blocked or over-long article shows why it has none.
import { sql, type Kysely } from 'kysely';
import type { Database, Db, Summary, SummaryFailure } from './types.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { SummaryResult } from '../core/ports.ts';

/** The summary as every outward shape carries it (the API, the Firestore replica, the export): camelCase. */
export function summaryFields(s: Summary) {
  return {
    provider: s.provider,
    model: s.model,
    summary: s.summary,
    keyPoints: s.key_points,
    tags: s.tags,
    lang: s.lang,
  };
}

export async function findSummary(db: Db, articleId: string): Promise<Summary | undefined> {
  return db.selectFrom('summaries').selectAll().where('article_id', '=', articleId).executeTakeFirst();
}

/** Stores the summary, replacing an older one (a regeneration or a newer text). */
export async function upsertSummary(
  db: Kysely<Database>,
  articleId: string,
  inputSha256: string,
  r: SummaryResult,
): Promise<void> {
  const row = {
    article_id: articleId,
    provider: r.provider,
    model: r.model,
    summary: r.summary,
    key_points: JSON.stringify(r.keyPoints),
    tags: JSON.stringify(r.tags),
    lang: r.lang,
    input_sha256: inputSha256,
    input_tokens: r.inputTokens ?? null,
    output_tokens: r.outputTokens ?? null,
  };
  const { article_id: _id, ...update } = row;
  await db
    .insertInto('summaries')
    .values(row)
    .onConflict((oc) => oc.column('article_id').doUpdateSet({ ...update, created_at: sql`now()` }))
    .execute();
}

export async function recordSummaryFailure(
  db: Kysely<Database>,
  f: {
    articleId: string;
    provider: string;
    model: string | null;
    code: ErrorCode;
    message: string;
    inputSha256: string;
  },
): Promise<void> {
  const row = {
    article_id: f.articleId,
    provider: f.provider,
    model: f.model,
    code: f.code,
    message: f.message.slice(0, 2000),
    input_sha256: f.inputSha256,
  };
  const { article_id: _id, ...update } = row;
  await db
    .insertInto('summary_failures')
    .values(row)
    .onConflict((oc) => oc.column('article_id').doUpdateSet({ ...update, created_at: sql`now()` }))
    .execute();
}

export async function clearSummaryFailure(db: Kysely<Database>, articleId: string): Promise<void> {
  await db.deleteFrom('summary_failures').where('article_id', '=', articleId).execute();
}

/** The last permanent failure for an article, or undefined. */
export async function findSummaryFailure(db: Db, articleId: string): Promise<SummaryFailure | undefined> {
  return db.selectFrom('summary_failures').selectAll().where('article_id', '=', articleId).executeTakeFirst();
}

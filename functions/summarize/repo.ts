// Summary persistence: upsert a summary, record or clear a permanent failure (table summary_failures,
// migration 0002). Article reads, the version bump and event idempotency come from shared/db/repo.ts.
import { sql, type ColumnType, type Kysely, type Selectable } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import type { SummaryResult } from '../../shared/core/ports.ts';

export interface SummaryFailureTable {
  article_id: string;
  provider: string;
  model: string | null;
  code: string;
  message: string;
  input_sha256: string;
  created_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
/** The schema this module sees: the shared one plus the table migration 0002 adds. */
export type SummarizeDatabase = Database & { summary_failures: SummaryFailureTable };
const widen = (db: Kysely<Database>) => db as unknown as Kysely<SummarizeDatabase>;

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
  f: { articleId: string; provider: string; model: string | null; code: string; message: string; inputSha256: string },
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
  await widen(db)
    .insertInto('summary_failures')
    .values(row)
    .onConflict((oc) => oc.column('article_id').doUpdateSet({ ...update, created_at: sql`now()` }))
    .execute();
}

export async function clearSummaryFailure(db: Kysely<Database>, articleId: string): Promise<void> {
  await widen(db).deleteFrom('summary_failures').where('article_id', '=', articleId).execute();
}

/** The last permanent failure for an article (for the API's status), or undefined. */
export async function findSummaryFailure(
  db: Kysely<Database>,
  articleId: string,
): Promise<Selectable<SummaryFailureTable> | undefined> {
  return widen(db).selectFrom('summary_failures').selectAll().where('article_id', '=', articleId).executeTakeFirst();
}

export async function isEventProcessed(db: Kysely<Database>, id: string): Promise<boolean> {
  return !!(await db.selectFrom('processed_events').select('id').where('id', '=', id).executeTakeFirst());
}

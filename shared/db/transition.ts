// The article's version bump: every state change of an article or its artifacts ends here, in the change's own
// transaction, re-deriving the article's status from its artifacts so the two can never disagree.
import { sql, type Transaction } from 'kysely';
import type { Article, ArticleUpdate, Database } from './types.ts';
import { deriveArticleStatus } from './status.ts';

/** What a change left the article at: article-changed carries the version, the API the status. */
export interface Transition {
  version: number;
  status: Article['status'];
}

/**
 * Takes the article's row lock (FOR UPDATE) for the rest of `trx`; false when the article is gone. A change that
 * inserts an artifact takes it before the insert, whose foreign-key check would otherwise take KEY SHARE first: two
 * such changes that each held KEY SHARE and then wanted the bump's FOR UPDATE would deadlock.
 */
export async function lockArticle(trx: Transaction<Database>, articleId: string): Promise<boolean> {
  const row = await trx.selectFrom('articles').select('id').where('id', '=', articleId).forUpdate().executeTakeFirst();
  return !!row;
}

/**
 * Re-derives the article's status, applies `set` and bumps its version; null when the article is gone. `locked`:
 * the caller took lockArticle in this transaction already, so the lock is not asked for twice.
 */
export async function bumpArticle(
  trx: Transaction<Database>,
  articleId: string,
  set: ArticleUpdate = {},
  o: { locked?: boolean } = {},
): Promise<Transition | null> {
  // The article's row lock first: two changes at once (a summary's touch while a worker marks an artifact) would
  // otherwise each derive the status from what they read before the other committed, and the later write would
  // put back a stale status ('running' over 'complete'). Under READ COMMITTED the read below then sees the other.
  if (!o.locked && !(await lockArticle(trx, articleId))) return null;
  const rows = await trx.selectFrom('artifacts').select('status').where('article_id', '=', articleId).execute();
  const status = deriveArticleStatus(rows.map((r) => r.status));
  const row = await trx
    .updateTable('articles')
    .set({ ...set, status, version: sql`version + 1`, updated_at: sql`now()` })
    .where('id', '=', articleId)
    .returning(['version', 'status'])
    .executeTakeFirst();
  return row ? { version: Number(row.version), status: row.status } : null;
}

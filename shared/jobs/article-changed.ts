// The one owner of the article-changed message: built here, published here, with one failure policy.
// Postgres is the truth and the replica converges on it (the next change, or `npm run firestore:reconcile`),
// so a failed publish is logged and never fails the state change that caused it.
import { TOPICS, type ArticleChanged } from '../core/messages.ts';
import type { Publisher } from '../core/ports.ts';
import type { Logger } from '../core/logger.ts';

export interface ArticleChange {
  articleId: string;
  /** The article's version after the change (a deletion announces the version it would have had next). */
  version: number;
  deleted?: boolean;
}

/** Publishes `article-changed` for one committed change; resolves false (and logs) when the publish failed. */
export async function announceChange(
  deps: { publisher: Publisher; logger: Logger },
  change: ArticleChange | null,
): Promise<boolean> {
  if (!change) return true;
  const message: ArticleChanged = {
    v: 1,
    articleId: change.articleId,
    version: change.version,
    deleted: change.deleted ?? false,
  };
  try {
    await deps.publisher.publish(TOPICS.articleChanged, message);
    return true;
  } catch (err) {
    deps.logger.warn({ err, articleId: change.articleId, version: change.version }, 'article-changed publish failed');
    return false;
  }
}

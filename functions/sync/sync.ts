// The Firestore replica sync: an article-changed event reads the current row and writes the replica
// document only when its version is newer, so the replica converges whatever the order or duplication.
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import { findArticle, listArticles } from '../../shared/db/articles.ts';
import { listArtifacts } from '../../shared/db/artifacts.ts';
import { findSummary, summaryFields } from '../../shared/db/summaries.ts';
import { findUser } from '../../shared/db/users.ts';
import type { ArticleReplicaDoc, ReplicaWriter } from '../../shared/core/ports.ts';
import type { ArticleChanged } from '../../shared/core/messages.ts';
import type { Logger } from '../../shared/core/logger.ts';

export async function buildReplicaDoc(db: Kysely<Database>, id: string): Promise<ArticleReplicaDoc | null> {
  const a = await findArticle(db, id);
  if (!a) return null;
  const [artifacts, s, owner] = await Promise.all([
    listArtifacts(db, id),
    findSummary(db, id),
    findUser(db, a.owner_id),
  ]);
  return {
    id: a.id,
    version: Number(a.version),
    ownerUid: owner?.firebase_uid ?? null,
    url: a.url,
    finalUrl: a.final_url,
    status: a.status,
    title: a.title,
    artifacts: Object.fromEntries(
      artifacts.map((x) => [
        x.format,
        { status: x.status, sizeBytes: x.size_bytes === null ? null : Number(x.size_bytes), errorCode: x.error_code },
      ]),
    ),
    summary: s ? summaryFields(s) : null,
    createdAt: new Date(a.created_at).toISOString(),
    updatedAt: new Date(a.updated_at).toISOString(),
  };
}

export function createSync(deps: { db: Kysely<Database>; replica: ReplicaWriter; logger: Logger }) {
  const log = deps.logger.child({ component: 'sync' });
  return {
    /** Applies one change; the event's own version only matters for deletes (rows are gone). */
    async apply(ev: ArticleChanged): Promise<'written' | 'stale' | 'missing'> {
      const doc = await buildReplicaDoc(deps.db, ev.articleId);
      if (!doc) {
        // Deleted in Postgres: mirror the delete (a tombstone with the delete's version).
        const r = await deps.replica.remove(ev.articleId, ev.version);
        log.info({ articleId: ev.articleId, outcome: r }, 'replica delete');
        return ev.deleted ? r : 'missing';
      }
      const r = await deps.replica.write(doc);
      log.debug({ articleId: ev.articleId, version: doc.version, outcome: r }, 'replica write');
      return r;
    },
    /** Rebuilds every document from Postgres (npm run firestore:reconcile). */
    async reconcileAll(): Promise<{ written: number; stale: number }> {
      let written = 0;
      let stale = 0;
      let cursor: { createdAt: Date; id: string } | undefined;
      for (;;) {
        const page = await listArticles(deps.db, { limit: 200, cursor });
        for (const a of page) {
          const doc = await buildReplicaDoc(deps.db, a.id);
          if (!doc) continue;
          (await deps.replica.write(doc)) === 'written' ? written++ : stale++;
        }
        if (page.length < 200) break;
        const last = page[page.length - 1]!;
        cursor = { createdAt: new Date(last.created_at), id: last.id };
      }
      return { written, stale };
    },
  };
}

// Group commit for POST /archive: new snapshots submitted at the same moment share one transaction (BEGIN with
// their locks, one dedup read, one insert of every article and artifact, COMMIT), four round trips for the batch
// instead of four each. A batch that fails is retried one submission at a time, so each caller gets its own outcome.
import { sql, type Kysely } from 'kysely';
import type { Article, Artifact, Database } from './types.ts';
import {
  artifactFromJson,
  createArticle,
  submissionLockKey,
  type CreateArticleInput,
  type CreateArticleResult,
} from './articles.ts';
import { deriveArticleStatus } from './status.ts';
import { groupCommit } from '../core/group-commit.ts';

export interface ArticleBatcherOptions {
  /** Submissions in one transaction at most. Default 64. */
  maxBatch?: number;
  /** Batches in flight at once (each holds a pooled connection). Default 2. */
  maxInFlight?: number;
  /** Told the size of each batch as it starts (tests, metrics). */
  onBatch?: (size: number) => void;
}

interface Pending {
  input: CreateArticleInput;
  key: string;
}

/**
 * createArticle with the same outcomes, grouped (shared/core/group-commit.ts). A batch holds one submission per
 * lock key and one dedup window and lease; the others wait their turn.
 */
export function createArticleBatcher(
  db: Kysely<Database>,
  opts: ArticleBatcherOptions = {},
): (input: CreateArticleInput) => Promise<CreateArticleResult> {
  const grouped = groupCommit<Pending, CreateArticleResult>((batch) => run(db, batch), {
    maxBatch: opts.maxBatch ?? 64,
    maxInFlight: opts.maxInFlight ?? 2,
    onBatch: opts.onBatch,
    fits: (p, batch) =>
      p.input.dedupWindowSeconds === batch[0]!.input.dedupWindowSeconds &&
      p.input.leaseSeconds === batch[0]!.input.leaseSeconds &&
      !batch.some((b) => b.key === p.key),
  });
  return (input) =>
    // An Idempotency-Key replay reads its own prior row: the single path does it as it always did.
    input.idempotencyKey
      ? createArticle(db, input)
      : grouped({ input, key: submissionLockKey(input.ownerId, input.normalizedUrl) });
}

async function run(
  db: Kysely<Database>,
  batch: Pending[],
): Promise<Array<CreateArticleResult | Promise<CreateArticleResult>>> {
  if (batch.length === 1) return [createArticle(db, batch[0]!.input)];
  try {
    return await createMany(db, batch);
  } catch {
    // Which submission failed is unknown: each goes again alone and meets its own error (or succeeds).
    return batch.map((p) => createArticle(db, p.input));
  }
}

/** One transaction for the whole batch; throws (rolled back) if any part fails. */
async function createMany(db: Kysely<Database>, batch: Pending[]): Promise<CreateArticleResult[]> {
  return db.connection().execute(async (conn) => {
    // Locks in ascending key order, as every batch takes them, so two batches cannot deadlock; the keys are
    // integers, so they can go in the simple query with BEGIN.
    const keys = batch.map((p) => BigInt(p.key)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    try {
      // Inside the try, as in createArticle: a lock that fails after BEGIN must not leave the pooled connection
      // in an aborted transaction.
      await sql.raw(`begin; ${keys.map((k) => `select pg_advisory_xact_lock(${k});`).join(' ')}`).execute(conn);
      const results = await createLockedMany(conn, batch);
      await sql`commit`.execute(conn);
      return results;
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined); // the statement's error is the one that matters
      throw err;
    }
  });
}

async function createLockedMany(conn: Kysely<Database>, batch: Pending[]): Promise<CreateArticleResult[]> {
  const { dedupWindowSeconds, leaseSeconds } = batch[0]!.input;
  const results: Array<CreateArticleResult | undefined> = batch.map(() => undefined);
  const lookups = batch.filter((p) => !p.input.force && dedupWindowSeconds > 0);
  if (lookups.length) {
    // createArticle's dedup read for every submission at once: the five newest candidates per owner and URL.
    const pairs = sql.join(lookups.map((p) => sql`(${p.input.ownerId}::uuid, ${p.input.normalizedUrl})`));
    const { rows: candidates } = await sql<Article & { n: number }>`
      select * from (
        select a.*, row_number() over (partition by owner_id, normalized_url order by created_at desc) as n
        from articles a
        where (owner_id, normalized_url) in (${pairs}) and status != 'failed'
          and (status in ('pending', 'running') or created_at > now() - make_interval(secs => ${dedupWindowSeconds}))
      ) c where n <= 5 order by created_at desc`.execute(conn);
    const artifacts = candidates.length
      ? await conn
          .selectFrom('artifacts')
          .selectAll()
          .where(
            'article_id',
            'in',
            candidates.map((c) => c.id),
          )
          .orderBy('format')
          .execute()
      : [];
    const byArticle = new Map<string, Artifact[]>();
    for (const a of artifacts) byArticle.set(a.article_id, [...(byArticle.get(a.article_id) ?? []), a]);
    batch.forEach((p, i) => {
      if (p.input.force) return;
      for (const c of candidates) {
        if (c.owner_id !== p.input.ownerId || c.normalized_url !== p.input.normalizedUrl) continue;
        const arts = byArticle.get(c.id) ?? [];
        const have = new Set(arts.filter((a) => a.status !== 'failed').map((a) => a.format));
        if (p.input.formats.every((f) => have.has(f))) {
          const { n: _n, ...article } = c;
          results[i] = { kind: 'deduplicated', article: article as Article, artifacts: arts };
          return;
        }
      }
    });
  }
  const fresh = batch.filter((_, i) => !results[i]);
  if (fresh.length) {
    const leaseUntil = sql<Date>`now() + make_interval(secs => ${leaseSeconds})`;
    const rows = await conn
      .with('a', (q) =>
        q
          .insertInto('articles')
          .values(
            fresh.map(({ input }) => ({
              id: input.id,
              url: input.url,
              normalized_url: input.normalizedUrl,
              status: deriveArticleStatus(input.formats.map(() => 'pending' as const)),
              version: 2,
              idempotency_key: null,
              owner_id: input.ownerId,
            })),
          )
          .returningAll(),
      )
      .with('f', (q) =>
        q
          .insertInto('artifacts')
          .values(
            fresh.flatMap(({ input }) =>
              input.formats.map((format) => ({
                article_id: input.id,
                format,
                status: 'pending',
                lease_until: leaseUntil,
              })),
            ),
          )
          .returningAll(),
      )
      .selectFrom('a')
      .selectAll('a')
      .select(
        sql<
          Array<Record<string, unknown>>
        >`(select coalesce(json_agg(f order by f.format), '[]'::json) from f where f.article_id = a.id)`.as(
          'created_artifacts',
        ),
      )
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    batch.forEach((p, i) => {
      if (results[i]) return;
      const { created_artifacts, ...article } = byId.get(p.input.id)!;
      results[i] = { kind: 'created', article: article as Article, artifacts: created_artifacts.map(artifactFromJson) };
    });
  }
  return results as CreateArticleResult[];
}

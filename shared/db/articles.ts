// Article repository: creating a snapshot (with its pending artifacts, deduplication and Idempotency-Key),
// reading, listing, updating its page metadata and deleting it. Artifact state changes live in artifacts.ts.
import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Article, Artifact, Database, Db } from './types.ts';
import { bumpArticle, type Transition } from './transition.ts';
import { listArtifacts } from './artifacts.ts';
import { deriveArticleStatus } from './status.ts';
import type { Format } from '../core/formats.ts';
import { searchArticles, type ListCursor, type SearchHit, type SearchSort } from './search.ts';

/** What a capture learned about the page; written with the version bump of the capture's outcome. */
export interface ArticleMeta {
  final_url?: string | null;
  canonical_url?: string | null;
  http_status?: number | null;
  title?: string | null;
  site_name?: string | null;
  byline?: string | null;
  lang?: string | null;
  excerpt?: string | null;
  favicon_url?: string | null;
  word_count?: number | null;
  text_content?: string | null;
}

/** Writes the page metadata and merges `warnings` into the article's (deduplicated) list. */
export async function updateArticleMeta(
  db: Kysely<Database>,
  articleId: string,
  meta: ArticleMeta,
  warnings?: string[],
): Promise<Transition | null> {
  return db.transaction().execute(async (trx) => {
    if (warnings?.length) {
      await trx
        .updateTable('articles')
        .set({ warnings: sql`(select array_agg(distinct w) from unnest(warnings || ${warnings}::text[]) as w)` })
        .where('id', '=', articleId)
        .execute();
    }
    return bumpArticle(trx, articleId, meta);
  });
}

export interface CreateArticleInput {
  id: string;
  /** The user the snapshot belongs to: dedup and Idempotency-Key look only among their archives. */
  ownerId: string;
  url: string;
  normalizedUrl: string;
  formats: Format[];
  idempotencyKey?: string | null;
  dedupWindowSeconds: number;
  force: boolean;
  /** Seconds before an unclaimed pending artifact counts as stuck. */
  leaseSeconds: number;
}

export type CreateArticleResult =
  | { kind: 'created'; article: Article; artifacts: Artifact[] }
  | { kind: 'deduplicated'; article: Article; artifacts: Artifact[] }
  | { kind: 'idempotent'; article: Article; artifacts: Artifact[] }
  | { kind: 'idempotency_conflict'; article: Article };

/**
 * The advisory lock key of one owner's URL, as a 63-bit integer literal: it can then share a round trip with BEGIN
 * (the simple query protocol carries several statements but no parameters, and a number cannot inject anything).
 */
export function submissionLockKey(ownerId: string, normalizedUrl: string): string {
  return createHash('sha256').update(`${ownerId} ${normalizedUrl}`).digest().readBigInt64BE(0).toString();
}

/** Artifact rows that came back as JSON from the creation statement, with their timestamps as Dates again. */
export function artifactFromJson(a: Record<string, unknown>): Artifact {
  const date = (v: unknown) => (v == null ? null : new Date(v as string));
  return {
    ...(a as unknown as Artifact),
    lease_until: date(a.lease_until),
    started_at: date(a.started_at),
    finished_at: date(a.finished_at),
  };
}

/**
 * Writes the pending article and one artifact per format in one transaction, unless the
 * Idempotency-Key was seen before or a recent snapshot of the same URL can be returned instead.
 * Four round trips for a new snapshot (bench:api): BEGIN with the lock, the dedup read, one statement for the
 * article and its artifacts, COMMIT. The lock is its own statement so that the read after it sees every
 * submission committed while it waited (one statement's snapshot is taken before its locks).
 */
export async function createArticle(db: Kysely<Database>, input: CreateArticleInput): Promise<CreateArticleResult> {
  return db.connection().execute(async (conn) => {
    let result: CreateArticleResult;
    try {
      // Serializes concurrent submissions of one URL so deduplication cannot race. Inside the try: when the lock
      // fails after BEGIN ran (statement_timeout while waiting), the rollback below ends the aborted transaction
      // instead of handing it back to the pool, where every later query on the connection would fail.
      await sql
        .raw(`begin; select pg_advisory_xact_lock(${submissionLockKey(input.ownerId, input.normalizedUrl)})`)
        .execute(conn);
      result = await createLocked(conn, input);
    } catch (err) {
      // The statement's error is the one the caller needs; a failed rollback leaves a broken connection,
      // which the pool discards.
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
    await sql`commit`.execute(conn);
    return result;
  });
}

async function createLocked(conn: Kysely<Database>, input: CreateArticleInput): Promise<CreateArticleResult> {
  if (input.idempotencyKey) {
    const prior = await conn
      .selectFrom('articles')
      .selectAll()
      .where('owner_id', '=', input.ownerId)
      .where('idempotency_key', '=', input.idempotencyKey)
      .executeTakeFirst();
    if (prior) {
      if (prior.normalized_url !== input.normalizedUrl) return { kind: 'idempotency_conflict', article: prior };
      return { kind: 'idempotent', article: prior, artifacts: await listArtifacts(conn, prior.id) };
    }
  }
  if (!input.force && input.dedupWindowSeconds > 0) {
    const recent = await conn
      .selectFrom('articles')
      .selectAll()
      .where('owner_id', '=', input.ownerId)
      .where('normalized_url', '=', input.normalizedUrl)
      .where('status', '!=', 'failed')
      .where((eb) =>
        eb.or([
          eb('status', 'in', ['pending', 'running']),
          eb('created_at', '>', sql<Date>`now() - make_interval(secs => ${input.dedupWindowSeconds})`),
        ]),
      )
      .orderBy('created_at', 'desc')
      .limit(5)
      .execute();
    for (const candidate of recent) {
      const artifacts = await listArtifacts(conn, candidate.id);
      const have = new Set(artifacts.filter((a) => a.status !== 'failed').map((a) => a.format));
      if (input.formats.every((f) => have.has(f))) return { kind: 'deduplicated', article: candidate, artifacts };
    }
  }
  // The new article is written as bumpArticle would leave it after its artifacts went in (version 1 + 1, status
  // derived from all-pending artifacts, updated_at = now() of this transaction), and its artifacts are inserted by
  // the same statement (a data-modifying CTE), coming back as JSON beside the article's row.
  const leaseUntil = sql<Date>`now() + make_interval(secs => ${input.leaseSeconds})`;
  const row = await conn
    .with('a', (q) =>
      q
        .insertInto('articles')
        .values({
          id: input.id,
          url: input.url,
          normalized_url: input.normalizedUrl,
          status: deriveArticleStatus(input.formats.map(() => 'pending' as const)),
          version: 2,
          idempotency_key: input.idempotencyKey ?? null,
          owner_id: input.ownerId,
        })
        .returningAll(),
    )
    .with('f', (q) =>
      q
        .insertInto('artifacts')
        .values(
          input.formats.map((format) => ({ article_id: input.id, format, status: 'pending', lease_until: leaseUntil })),
        )
        .returningAll(),
    )
    .selectFrom('a')
    .selectAll('a')
    .select(
      sql<Array<Record<string, unknown>>>`(select coalesce(json_agg(f), '[]'::json) from f)`.as('created_artifacts'),
    )
    .executeTakeFirstOrThrow();
  const { created_artifacts, ...article } = row;
  const artifacts = created_artifacts.map(artifactFromJson);
  // listArtifacts' order (by format); the names are lowercase ASCII, so every collation agrees with this one.
  artifacts.sort((x, y) => (x.format < y.format ? -1 : x.format > y.format ? 1 : 0));
  return { kind: 'created', article: article as Article, artifacts };
}

export async function findArticle(db: Db, id: string): Promise<Article | undefined> {
  return db.selectFrom('articles').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every column the API shows: not the readable text (up to a million characters) nor the search vector. */
export const ARTICLE_VIEW_COLUMNS = [
  'id',
  'url',
  'normalized_url',
  'final_url',
  'canonical_url',
  'http_status',
  'title',
  'site_name',
  'byline',
  'lang',
  'excerpt',
  'favicon_url',
  'word_count',
  'warnings',
  'status',
  'version',
  'idempotency_key',
  'owner_id',
  'created_at',
  'updated_at',
  'tags',
  'note',
  'site',
] as const satisfies ReadonlyArray<keyof Article>;
export type ArticleView = Pick<Article, (typeof ARTICLE_VIEW_COLUMNS)[number]>;

/** The caller's own archive (another owner's answers undefined, as if it did not exist), without its text. */
export async function findOwnedArticle(db: Db, id: string, ownerId: string): Promise<ArticleView | undefined> {
  return db
    .selectFrom('articles')
    .select(ARTICLE_VIEW_COLUMNS)
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
}

export interface ListQuery {
  /** Whose archives; absent only for maintenance jobs that walk every archive (reconcile). */
  ownerId?: string;
  /** Full-text search (shared/db/search.ts): each row then carries `rank` and `snippet`. */
  q?: string;
  /** With q: best first (the default) or newest first; without q, always newest first. */
  sort?: SearchSort;
  url?: string;
  status?: Article['status'];
  /** The library's filters: one tag (exact), one site (host without www.), created in [from, to). */
  tag?: string;
  site?: string;
  from?: Date;
  to?: Date;
  /** {createdAt, id} of the last row in date order; {rank, id} in relevance order. */
  cursor?: ListCursor;
  limit: number;
}

/** A listed archive; a search adds its rank and highlighted snippet. */
export type ListedArticle = ArticleView & Partial<SearchHit>;

/** Newest first, keyset-paginated on (created_at, id); with `q`, ranked search (date order on request). */
export async function listArticles(db: Db, query: ListQuery): Promise<ListedArticle[]> {
  if (query.q?.trim()) {
    // A date cursor without an explicit sort continues a date-ordered listing.
    const sort = query.sort ?? (query.cursor && 'createdAt' in query.cursor ? 'date' : 'relevance');
    return searchArticles(db, { ...query, q: query.q, sort }, ARTICLE_VIEW_COLUMNS);
  }
  let qb = db.selectFrom('articles').select(ARTICLE_VIEW_COLUMNS);
  if (query.ownerId) qb = qb.where('owner_id', '=', query.ownerId);
  if (query.url) qb = qb.where('normalized_url', '=', query.url);
  if (query.status) qb = qb.where('status', '=', query.status);
  // Each filter keeps an index: (owner_id, site, created_at, id), the tags GIN index, the created_at range of
  // (owner_id, created_at, id).
  if (query.site) qb = qb.where('site', '=', query.site);
  if (query.tag) qb = qb.where('tags', '@>', sql<string[]>`array[${query.tag}]::text[]`);
  if (query.from) qb = qb.where('created_at', '>=', query.from);
  if (query.to) qb = qb.where('created_at', '<', query.to);
  if (query.cursor) {
    if (!('createdAt' in query.cursor)) throw new TypeError('listArticles: date order pages with {createdAt, id}');
    const c = query.cursor;
    qb = qb.where((eb) =>
      eb.or([eb('created_at', '<', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '<', c.id)])]),
    );
  }
  return qb.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
}

/** Which of these archives have a thumbnail (the small image the browser worker makes with the screenshot). */
export async function withThumbnail(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectFrom('artifacts')
    .select('article_id')
    .where('article_id', 'in', ids)
    .where('format', '=', 'thumbnail')
    .where('status', '=', 'succeeded')
    .execute();
  return new Set(rows.map((r) => r.article_id));
}

/** The owner's tags and note: tags replace the summary's from now on (tags_edited); bumps the version. */
export async function updateArticleNotes(
  db: Kysely<Database>,
  articleId: string,
  edit: { tags?: string[]; note?: string | null },
): Promise<Transition | null> {
  return db.transaction().execute((trx) =>
    bumpArticle(trx, articleId, {
      ...(edit.tags !== undefined ? { tags: edit.tags, tags_edited: true } : {}),
      ...(edit.note !== undefined ? { note: edit.note } : {}),
    }),
  );
}

/** Deletes the article; its artifacts, summary and summary failure go with it (on delete cascade). */
export async function deleteArticle(db: Kysely<Database>, id: string): Promise<Article | undefined> {
  return db.deleteFrom('articles').where('id', '=', id).returningAll().executeTakeFirst();
}

// Repository functions: every read and state change of articles and artifacts goes through here.
// Each state change runs in one transaction that also re-derives the article's status and bumps its version.
import { sql, type Kysely, type Transaction, type UpdateObject } from 'kysely';
import type { Article, Artifact, ArtifactStatus, Database, Summary } from './types.ts';
import { deriveArticleStatus } from './status.ts';
import type { Format } from '../core/formats.ts';

type Db = Kysely<Database> | Transaction<Database>;

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

export interface Transition {
  version: number;
  status: Article['status'];
}

/** Re-derives the article's status from its artifacts and bumps its version; the heart of every change. */
async function bump(
  trx: Transaction<Database>,
  articleId: string,
  meta: ArticleMeta & { warnings?: string[] } = {},
): Promise<Transition | null> {
  const rows = await trx.selectFrom('artifacts').select('status').where('article_id', '=', articleId).execute();
  const status = deriveArticleStatus(rows.map((r) => r.status));
  const row = await trx
    .updateTable('articles')
    .set({ ...meta, status, version: sql`version + 1`, updated_at: sql`now()` })
    .where('id', '=', articleId)
    .returning(['version', 'status'])
    .executeTakeFirst();
  return row ? { version: Number(row.version), status: row.status } : null;
}

export async function touchArticle(db: Kysely<Database>, articleId: string): Promise<number | null> {
  const t = await db.transaction().execute((trx) => bump(trx, articleId));
  return t?.version ?? null;
}

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
    return bump(trx, articleId, meta);
  });
}

export interface CreateArticleInput {
  id: string;
  url: string;
  normalizedUrl: string;
  formats: Format[];
  idempotencyKey?: string | null;
  dedupWindowSeconds: number;
  force: boolean;
  /** Formats recorded as skipped from the start (engine unavailable), with their reason. */
  skipped?: Partial<Record<Format, { code: string; message: string }>>;
  /** Seconds before an unclaimed pending artifact counts as stuck. */
  leaseSeconds: number;
}

export type CreateArticleResult =
  | { kind: 'created'; article: Article; artifacts: Artifact[] }
  | { kind: 'deduplicated'; article: Article; artifacts: Artifact[] }
  | { kind: 'idempotent'; article: Article; artifacts: Artifact[] }
  | { kind: 'idempotency_conflict'; article: Article };

/**
 * Writes the pending article and one artifact per format in one transaction, unless the
 * Idempotency-Key was seen before or a recent snapshot of the same URL can be returned instead.
 */
export async function createArticle(db: Kysely<Database>, input: CreateArticleInput): Promise<CreateArticleResult> {
  return db.transaction().execute(async (trx) => {
    // Serializes concurrent submissions of one URL so deduplication cannot race.
    await sql`select pg_advisory_xact_lock(hashtext(${input.normalizedUrl}))`.execute(trx);
    if (input.idempotencyKey) {
      const prior = await trx
        .selectFrom('articles')
        .selectAll()
        .where('idempotency_key', '=', input.idempotencyKey)
        .executeTakeFirst();
      if (prior) {
        if (prior.normalized_url !== input.normalizedUrl) return { kind: 'idempotency_conflict', article: prior };
        return { kind: 'idempotent', article: prior, artifacts: await listArtifacts(trx, prior.id) };
      }
    }
    if (!input.force && input.dedupWindowSeconds > 0) {
      const recent = await trx
        .selectFrom('articles')
        .selectAll()
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
        const artifacts = await listArtifacts(trx, candidate.id);
        const have = new Set(artifacts.filter((a) => a.status !== 'failed').map((a) => a.format));
        if (input.formats.every((f) => have.has(f))) return { kind: 'deduplicated', article: candidate, artifacts };
      }
    }
    const article = await trx
      .insertInto('articles')
      .values({
        id: input.id,
        url: input.url,
        normalized_url: input.normalizedUrl,
        status: 'pending',
        idempotency_key: input.idempotencyKey ?? null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const leaseUntil = sql<Date>`now() + make_interval(secs => ${input.leaseSeconds})`;
    await trx
      .insertInto('artifacts')
      .values(
        input.formats.map((format) => {
          const skip = input.skipped?.[format];
          return {
            article_id: input.id,
            format,
            status: (skip ? 'skipped' : 'pending') as ArtifactStatus,
            error_code: skip?.code ?? null,
            error_message: skip?.message ?? null,
            lease_until: skip ? null : leaseUntil,
            finished_at: skip ? sql<Date>`now()` : null,
          };
        }),
      )
      .execute();
    const t = await bump(trx, input.id);
    return {
      kind: 'created',
      article: { ...article, version: t!.version, status: t!.status },
      artifacts: await listArtifacts(trx, input.id),
    };
  });
}

export async function findArticle(db: Db, id: string): Promise<Article | undefined> {
  return db.selectFrom('articles').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listArtifacts(db: Db, articleId: string): Promise<Artifact[]> {
  return db.selectFrom('artifacts').selectAll().where('article_id', '=', articleId).orderBy('format').execute();
}

export async function findArtifact(db: Db, articleId: string, format: string): Promise<Artifact | undefined> {
  return db
    .selectFrom('artifacts')
    .selectAll()
    .where('article_id', '=', articleId)
    .where('format', '=', format)
    .executeTakeFirst();
}

export async function findSummary(db: Db, articleId: string): Promise<Summary | undefined> {
  return db.selectFrom('summaries').selectAll().where('article_id', '=', articleId).executeTakeFirst();
}

export interface ListQuery {
  q?: string;
  url?: string;
  status?: Article['status'];
  cursor?: { createdAt: Date; id: string };
  limit: number;
}

/** Newest first, keyset-paginated on (created_at, id). */
export async function listArticles(db: Db, query: ListQuery): Promise<Article[]> {
  let qb = db.selectFrom('articles').selectAll();
  if (query.q) qb = qb.where(sql<boolean>`search @@ websearch_to_tsquery('simple', ${query.q})`);
  if (query.url) qb = qb.where('normalized_url', '=', query.url);
  if (query.status) qb = qb.where('status', '=', query.status);
  if (query.cursor) {
    const c = query.cursor;
    qb = qb.where((eb) =>
      eb.or([eb('created_at', '<', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '<', c.id)])]),
    );
  }
  return qb.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(query.limit).execute();
}

export type ClaimResult =
  | { kind: 'claimed'; artifact: Artifact; transition: Transition }
  | { kind: 'done'; artifact: Artifact }
  | { kind: 'busy'; artifact: Artifact }
  | { kind: 'missing' };

/**
 * Compare-and-set claim: pending, or running with an expired lease, becomes running with a new lease.
 * Succeeded, failed and skipped artifacts are final for a capture message (retry resets them first).
 */
export async function claimArtifact(
  db: Kysely<Database>,
  articleId: string,
  format: Format,
  leaseSeconds: number,
): Promise<ClaimResult> {
  return db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('artifacts')
      .set({
        status: 'running',
        attempts: sql`attempts + 1`,
        lease_until: sql`now() + make_interval(secs => ${leaseSeconds})`,
        started_at: sql`now()`,
        error_code: null,
        error_message: null,
      })
      .where('article_id', '=', articleId)
      .where('format', '=', format)
      .where((eb) =>
        eb.or([
          eb('status', '=', 'pending'),
          eb.and([eb('status', '=', 'running'), eb('lease_until', '<', sql<Date>`now()`)]),
        ]),
      )
      .returningAll()
      .executeTakeFirst();
    if (claimed) return { kind: 'claimed', artifact: claimed, transition: (await bump(trx, articleId))! };
    const current = await findArtifact(trx, articleId, format);
    if (!current) return { kind: 'missing' };
    return current.status === 'running' ? { kind: 'busy', artifact: current } : { kind: 'done', artifact: current };
  });
}

/** Extends the lease of a running artifact (long captures). */
export async function renewLease(
  db: Kysely<Database>,
  articleId: string,
  format: Format,
  leaseSeconds: number,
): Promise<void> {
  await db
    .updateTable('artifacts')
    .set({ lease_until: sql`now() + make_interval(secs => ${leaseSeconds})` })
    .where('article_id', '=', articleId)
    .where('format', '=', format)
    .where('status', '=', 'running')
    .execute();
}

export interface Succeeded {
  storageKey: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  engineVersion?: string | null;
}

async function setArtifact(
  db: Kysely<Database>,
  articleId: string,
  format: Format,
  set: UpdateObject<Database, 'artifacts'>,
  onlyIf: ArtifactStatus[],
  onlyIfUnleased = false,
): Promise<Transition | null> {
  return db.transaction().execute(async (trx) => {
    let qb = trx
      .updateTable('artifacts')
      .set(set)
      .where('article_id', '=', articleId)
      .where('format', '=', format)
      .where('status', 'in', onlyIf);
    // A running artifact whose lease is still valid belongs to a live worker: leave it alone.
    if (onlyIfUnleased)
      qb = qb.where((eb) =>
        eb.or([eb('status', '!=', 'running'), eb('lease_until', 'is', null), eb('lease_until', '<', sql<Date>`now()`)]),
      );
    const updated = await qb.returning('id').executeTakeFirst();
    if (!updated) return null;
    return bump(trx, articleId);
  });
}

export function markSucceeded(
  db: Kysely<Database>,
  articleId: string,
  format: Format,
  s: Succeeded,
): Promise<Transition | null> {
  return setArtifact(
    db,
    articleId,
    format,
    {
      status: 'succeeded',
      storage_key: s.storageKey,
      content_type: s.contentType,
      size_bytes: s.sizeBytes,
      sha256: s.sha256,
      engine_version: s.engineVersion ?? null,
      error_code: null,
      error_message: null,
      lease_until: null,
      finished_at: sql`now()`,
    },
    ['running', 'pending'],
  );
}

/** Records a permanent failure (or skip) with a stable code; only from a non-final state. */
export function markFailed(
  db: Kysely<Database>,
  articleId: string,
  format: Format,
  code: string,
  message: string,
  status: 'failed' | 'skipped' = 'failed',
  opts: { onlyIfUnleased?: boolean } = {},
): Promise<Transition | null> {
  return setArtifact(
    db,
    articleId,
    format,
    { status, error_code: code, error_message: message.slice(0, 2000), lease_until: null, finished_at: sql`now()` },
    ['running', 'pending'],
    opts.onlyIfUnleased,
  );
}

/** A transient failure: back to pending so the redelivered message can claim it again. */
export function releaseArtifact(
  db: Kysely<Database>,
  articleId: string,
  format: Format,
  code: string,
  message: string,
  leaseSeconds: number,
): Promise<Transition | null> {
  return setArtifact(
    db,
    articleId,
    format,
    {
      status: 'pending',
      error_code: code,
      error_message: message.slice(0, 2000),
      lease_until: sql`now() + make_interval(secs => ${leaseSeconds})`,
    },
    ['running'],
  );
}

/** Resets failed (and, with `all`, every non-succeeded) artifacts to pending; returns the formats reset. */
export async function resetForRetry(
  db: Kysely<Database>,
  articleId: string,
  formats: Format[] | null,
  leaseSeconds: number,
): Promise<{ formats: Format[]; transition: Transition | null }> {
  return db.transaction().execute(async (trx) => {
    let qb = trx
      .updateTable('artifacts')
      .set({
        status: 'pending',
        error_code: null,
        error_message: null,
        lease_until: sql`now() + make_interval(secs => ${leaseSeconds})`,
        finished_at: null,
      })
      .where('article_id', '=', articleId)
      .where('status', 'in', ['failed', 'skipped']);
    if (formats) qb = qb.where('format', 'in', formats);
    const rows = await qb.returning('format').execute();
    if (rows.length === 0) return { formats: [], transition: null };
    return { formats: rows.map((r) => r.format as Format), transition: await bump(trx, articleId) };
  });
}

export async function deleteArticle(db: Kysely<Database>, id: string): Promise<Article | undefined> {
  return db.deleteFrom('articles').where('id', '=', id).returningAll().executeTakeFirst();
}

/** Artifacts nobody is working on any more: pending or running with an expired lease. */
export async function findStuckArtifacts(
  db: Db,
  limit = 100,
): Promise<Array<Pick<Artifact, 'article_id' | 'format' | 'status' | 'attempts'> & { url: string }>> {
  return db
    .selectFrom('artifacts')
    .innerJoin('articles', 'articles.id', 'artifacts.article_id')
    .select(['artifacts.article_id', 'artifacts.format', 'artifacts.status', 'artifacts.attempts', 'articles.url'])
    .where('artifacts.status', 'in', ['pending', 'running'])
    .where('artifacts.lease_until', '<', sql<Date>`now()`)
    .orderBy('artifacts.lease_until')
    .limit(limit)
    .execute();
}

/** Pushes the stuck artifact's deadline forward before republishing, so one sweep does not race another. */
export async function extendPendingLease(
  db: Kysely<Database>,
  articleId: string,
  format: string,
  leaseSeconds: number,
): Promise<boolean> {
  const r = await db
    .updateTable('artifacts')
    .set({ lease_until: sql`now() + make_interval(secs => ${leaseSeconds})` })
    .where('article_id', '=', articleId)
    .where('format', '=', format)
    .where('status', 'in', ['pending', 'running'])
    .where('lease_until', '<', sql<Date>`now()`)
    .returning('id')
    .executeTakeFirst();
  return !!r;
}

/** Records an event id; false when it was seen before (idempotency on message/event ids). */
export async function markEventProcessed(db: Kysely<Database>, id: string, kind: string): Promise<boolean> {
  const r = await db
    .insertInto('processed_events')
    .values({ id, kind })
    .onConflict((oc) => oc.column('id').doNothing())
    .returning('id')
    .executeTakeFirst();
  return !!r;
}

/** Records an artifact the worker discovered (a non-HTML URL's original) as succeeded, once. */
export async function addSucceededArtifact(
  db: Kysely<Database>,
  articleId: string,
  format: string,
  o: { key: string; contentType: string; size: number; sha256: string },
): Promise<Transition | null> {
  return db.transaction().execute(async (trx) => {
    await trx
      .insertInto('artifacts')
      .values({
        article_id: articleId,
        format,
        status: 'succeeded',
        attempts: 1,
        storage_key: o.key,
        content_type: o.contentType,
        size_bytes: o.size,
        sha256: o.sha256,
        started_at: sql`now()`,
        finished_at: sql`now()`,
      })
      .onConflict((oc) =>
        oc.columns(['article_id', 'format']).doUpdateSet({
          status: 'succeeded',
          storage_key: o.key,
          content_type: o.contentType,
          size_bytes: o.size,
          sha256: o.sha256,
          finished_at: sql`now()`,
        }),
      )
      .execute();
    return bump(trx, articleId);
  });
}

/** Whether any of the article's browser artifacts is still pending or running (monolith's rendered-DOM wait). */
export async function browserCaptureInProgress(db: Db, articleId: string): Promise<boolean> {
  const row = await db
    .selectFrom('artifacts')
    .select('id')
    .where('article_id', '=', articleId)
    .where('format', 'in', ['singlefile', 'pdf', 'screenshot', 'readable'])
    .where('status', 'in', ['pending', 'running'])
    .executeTakeFirst();
  return !!row;
}

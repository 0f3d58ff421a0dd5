// Artifact repository: the state machine of one capture (claim compare-and-set with a lease, renew, succeed,
// fail or skip, release, retry reset), what the sweeper finds stuck, and the artifacts a worker discovers.
// Every change runs in one transaction with the article's version bump (transition.ts).
import { sql, type Kysely, type UpdateObject } from 'kysely';
import type { Artifact, ArtifactStatus, Database, Db } from './types.ts';
import { bumpArticle, lockArticle, type Transition } from './transition.ts';
import type { ErrorCode } from '../core/errors.ts';
import type { Format } from '../core/formats.ts';

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

export type ClaimResult =
  | { kind: 'claimed'; artifact: Artifact; transition: Transition }
  | { kind: 'done'; artifact: Artifact }
  | { kind: 'busy'; artifact: Artifact }
  | { kind: 'missing' };

/** The compare-and-set claim of `formats`: pending, or running with an expired lease, becomes running, leased. */
function claimQuery(db: Db, articleId: string, formats: readonly Format[], leaseSeconds: number) {
  return db
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
    .where('format', 'in', formats)
    .where((eb) =>
      eb.or([
        eb('status', '=', 'pending'),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', sql<Date>`now()`)]),
      ]),
    )
    .returningAll();
}

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
    const claimed = await claimQuery(trx, articleId, [format], leaseSeconds).executeTakeFirst();
    if (claimed) return { kind: 'claimed', artifact: claimed, transition: (await bumpArticle(trx, articleId))! };
    const current = await findArtifact(trx, articleId, format);
    if (!current) return { kind: 'missing' };
    return current.status === 'running' ? { kind: 'busy', artifact: current } : { kind: 'done', artifact: current };
  });
}

export interface BatchClaim {
  /** The formats claimed, in the order asked. */
  claimed: Format[];
  /** The formats left alone because another lease holds them. */
  busy: Format[];
  /** The article's version bump, once for all claims; null when nothing was claimed. */
  transition: Transition | null;
}

/**
 * claimArtifact for several formats of one article in one transaction, with one version bump (issue 17: a capture
 * message claims three to five formats; one by one that was as many transactions and change announcements).
 */
export async function claimArtifacts(
  db: Kysely<Database>,
  articleId: string,
  formats: readonly Format[],
  leaseSeconds: number,
): Promise<BatchClaim> {
  if (!formats.length) return { claimed: [], busy: [], transition: null };
  return db.transaction().execute(async (trx) => {
    const rows = await claimQuery(trx, articleId, formats, leaseSeconds).execute();
    const got = new Set(rows.map((r) => r.format));
    const rest = formats.filter((f) => !got.has(f));
    const busy = rest.length
      ? await trx
          .selectFrom('artifacts')
          .select('format')
          .where('article_id', '=', articleId)
          .where('format', 'in', rest)
          .where('status', '=', 'running')
          .execute()
      : [];
    return {
      claimed: formats.filter((f) => got.has(f)),
      busy: rest.filter((f) => busy.some((b) => b.format === f)),
      transition: rows.length ? await bumpArticle(trx, articleId) : null,
    };
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

/** Applies `set` only from the `onlyIf` states, and bumps the article when a row changed. */
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
    return bumpArticle(trx, articleId);
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
  code: ErrorCode,
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
  code: ErrorCode,
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

/** Resets failed and skipped artifacts (all, or those in `formats`) to pending; returns the formats reset. */
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
    return { formats: rows.map((r) => r.format as Format), transition: await bumpArticle(trx, articleId) };
  });
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

/** Records an artifact the worker discovered (a non-HTML URL's original) as succeeded, once. */
export async function addSucceededArtifact(
  db: Kysely<Database>,
  articleId: string,
  format: string,
  o: { key: string; contentType: string; size: number; sha256: string },
): Promise<Transition | null> {
  return db.transaction().execute(async (trx) => {
    // The article's row lock before the insert (lockArticle says why). A deleted article has no row to lock, so
    // nothing is recorded.
    if (!(await lockArticle(trx, articleId))) return null;
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
    return bumpArticle(trx, articleId, {}, { locked: true });
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

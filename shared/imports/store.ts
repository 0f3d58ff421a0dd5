// The import repository: storing an uploaded file's lines (one transaction, so an import is all there or not at
// all), reading an import's progress for its owner, and the metadata an archive carries from its imports.
import { sql, type Kysely } from 'kysely';
import type { Database, Db } from '../db/types.ts';
import type { Format } from '../core/formats.ts';
import type { PreparedImport } from './detect.ts';
import type { ImportFormat } from './types.ts';

const BATCH = 1000;

export interface NewImport {
  id: string;
  ownerId: string;
  filename: string | null;
  formats: Format[];
  prepared: PreparedImport;
}

export async function createImport(db: Kysely<Database>, input: NewImport): Promise<void> {
  const { prepared } = input;
  const rows = [
    ...prepared.lines.map((l) => ({
      line: l.line,
      merged_lines: l.mergedLines,
      url: l.url,
      normalized_url: l.normalizedUrl,
      host: l.host,
      title: l.title,
      saved_at: l.savedAt,
      tags: l.tags,
      note: l.note,
      state: 'waiting' as const,
      reason: null,
    })),
    ...prepared.failed.map((f) => ({
      line: f.line,
      merged_lines: [],
      url: f.raw,
      normalized_url: null,
      host: null,
      title: null,
      saved_at: null,
      tags: [],
      note: null,
      state: 'failed' as const,
      reason: f.reason,
    })),
  ].sort((a, b) => a.line - b.line);
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('imports')
      .values({
        id: input.id,
        owner_id: input.ownerId,
        format: prepared.format,
        filename: input.filename,
        formats: input.formats,
        total: rows.length + prepared.duplicates,
        merged: prepared.duplicates,
      })
      .execute();
    for (let i = 0; i < rows.length; i += BATCH)
      await trx
        .insertInto('import_items')
        .values(rows.slice(i, i + BATCH).map((r, j) => ({ ...r, import_id: input.id, position: i + j })))
        .execute();
  });
}

export interface ImportProgress {
  id: string;
  format: ImportFormat;
  filename: string | null;
  formats: string[];
  createdAt: Date;
  total: number;
  /** Not yet handed to the capture workers (waiting for the rate or a host's turn). */
  waiting: number;
  /** Handed to the workers, capture not finished. */
  capturing: number;
  archived: number;
  duplicates: number;
  failed: number;
  failures: Array<{ line: number; url: string; reason: string }>;
}

/**
 * The caller's import with live counts: a queued line counts as archived (or failed) as soon as its archive's
 * capture finishes, before the queuer settles the row.
 */
export async function findImportProgress(db: Db, id: string, ownerId: string): Promise<ImportProgress | null> {
  const imp = await db
    .selectFrom('imports')
    .selectAll()
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .executeTakeFirst();
  if (!imp) return null;
  const counts = await sql<{
    waiting: string;
    capturing: string;
    archived: string;
    duplicates: string;
    failed: string;
  }>`
    select
      count(*) filter (where i.state in ('waiting','claimed')) as waiting,
      count(*) filter (where i.state = 'queued' and a.status in ('pending','running')) as capturing,
      count(*) filter (where i.state = 'archived' or (i.state = 'queued' and a.status in ('complete','partial'))) as archived,
      count(*) filter (where i.state = 'duplicate') as duplicates,
      count(*) filter (where i.state = 'failed' or (i.state = 'queued' and (a.status = 'failed' or a.id is null))) as failed
    from import_items i left join articles a on a.id = i.article_id
    where i.import_id = ${id}`.execute(db);
  const c = counts.rows[0]!;
  const failures = await sql<{ line: number; url: string; reason: string }>`
    select i.line, i.url, coalesce(i.reason, case when a.id is null then 'the archive was deleted'
      else 'capture failed: ' || coalesce((select f.error_code || ': ' || f.error_message from artifacts f
        where f.article_id = a.id and f.status = 'failed' order by f.format limit 1), 'unknown') end) as reason
    from import_items i left join articles a on a.id = i.article_id
    where i.import_id = ${id} and (i.state = 'failed' or (i.state = 'queued' and (a.status = 'failed' or a.id is null)))
    order by i.position`.execute(db);
  return {
    id: imp.id,
    format: imp.format as ImportFormat,
    filename: imp.filename,
    formats: imp.formats,
    createdAt: imp.created_at,
    total: imp.total,
    waiting: Number(c.waiting),
    capturing: Number(c.capturing),
    archived: Number(c.archived),
    duplicates: imp.merged + Number(c.duplicates),
    failed: Number(c.failed),
    failures: failures.rows,
  };
}

/** What the person's tools said about each archive: the title and date of first saving, tags and notes. */
export interface ImportedMeta {
  title: string | null;
  savedAt: Date | null;
  tags: string[];
  notes: string[];
}

export async function importedMetaFor(db: Db, articleIds: string[]): Promise<Map<string, ImportedMeta>> {
  const out = new Map<string, ImportedMeta>();
  if (!articleIds.length) return out;
  const rows = await db
    .selectFrom('import_items')
    .select(['article_id', 'title', 'saved_at', 'tags', 'note'])
    .where('article_id', 'in', articleIds)
    .orderBy('article_id')
    .orderBy('saved_at')
    .execute();
  for (const r of rows) {
    const m = out.get(r.article_id!) ?? { title: null, savedAt: null, tags: [], notes: [] };
    m.title ??= r.title;
    if (r.saved_at && (!m.savedAt || r.saved_at < m.savedAt)) m.savedAt = r.saved_at;
    for (const t of r.tags) if (!m.tags.some((x) => x.toLowerCase() === t.toLowerCase())) m.tags.push(t);
    if (r.note && !m.notes.includes(r.note)) m.notes.push(r.note);
    out.set(r.article_id!, m);
  }
  return out;
}

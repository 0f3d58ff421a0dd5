// Export of a person's whole library: records (every archive with its metadata, summary, tags and notes, read
// in keyset pages so memory stays flat), rendered as HT Base JSON, a Netscape bookmark file, or a zip streamed
// with yazl (archive.json, every artifact's file, and a manifest of sha256 sums computed as the bytes pass).
import { createHash } from 'node:crypto';
import { PassThrough, Readable, Transform } from 'node:stream';
import yazl from 'yazl';
import type { Db } from '../db/types.ts';
import type { BlobStore } from '../core/ports.ts';
import type { Logger } from '../core/logger.ts';
import { ARTICLE_VIEW_COLUMNS } from '../db/articles.ts';
import { importedMetaFor } from './store.ts';
import { summaryFields } from '../db/summaries.ts';

export const EXPORT_FORMATS = ['json', 'netscape', 'zip'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportedArtifact {
  format: string;
  status: string;
  contentType: string | null;
  sizeBytes: number | null;
  sha256: string | null;
  /** The file's path inside the zip export (succeeded artifacts only). */
  file: string | null;
}

export interface ExportedArchive {
  id: string;
  url: string;
  finalUrl: string | null;
  title: string | null;
  /** When the person first saved the page: in the tool they imported from, else when it was archived here. */
  savedAt: string;
  createdAt: string;
  updatedAt: string;
  status: string;
  siteName: string | null;
  byline: string | null;
  lang: string | null;
  excerpt: string | null;
  wordCount: number | null;
  tags: string[];
  note: string | null;
  summary: {
    provider: string;
    model: string | null;
    summary: string;
    keyPoints: string[];
    tags: string[];
    lang: string | null;
  } | null;
  artifacts: ExportedArtifact[];
}

const PAGE = 200;

/** Every archive of `ownerId`, oldest first, page by page. */
export async function* exportRecords(db: Db, ownerId: string): AsyncGenerator<ExportedArchive> {
  let cursor: { createdAt: Date; id: string } | null = null;
  for (;;) {
    let q = db
      .selectFrom('articles')
      .select([...ARTICLE_VIEW_COLUMNS, 'tags_edited'])
      .where('owner_id', '=', ownerId);
    if (cursor) {
      const c: { createdAt: Date; id: string } = cursor;
      q = q.where((eb) =>
        eb.or([eb('created_at', '>', c.createdAt), eb.and([eb('created_at', '=', c.createdAt), eb('id', '>', c.id)])]),
      );
    }
    const rows = await q.orderBy('created_at').orderBy('id').limit(PAGE).execute();
    if (!rows.length) return;
    const ids = rows.map((r) => r.id);
    const [artifacts, summaries, meta] = await Promise.all([
      db.selectFrom('artifacts').selectAll().where('article_id', 'in', ids).orderBy('format').execute(),
      db.selectFrom('summaries').selectAll().where('article_id', 'in', ids).execute(),
      importedMetaFor(db, ids),
    ]);
    for (const a of rows) {
      const m = meta.get(a.id);
      const s = summaries.find((x) => x.article_id === a.id);
      yield {
        id: a.id,
        url: a.url,
        finalUrl: a.final_url,
        title: a.title ?? m?.title ?? null,
        savedAt: (m?.savedAt ?? a.created_at).toISOString(),
        createdAt: a.created_at.toISOString(),
        updatedAt: a.updated_at.toISOString(),
        status: a.status,
        siteName: a.site_name,
        byline: a.byline,
        lang: a.lang,
        excerpt: a.excerpt,
        wordCount: a.word_count,
        // The archive's own tags and note (set by the person or by an import); before 0007 they lived on the lines.
        tags: a.tags_edited ? a.tags : (m?.tags ?? []),
        note: a.note ?? (m?.notes.length ? m.notes.join('\n\n') : null),
        summary: s ? summaryFields(s) : null,
        artifacts: artifacts
          .filter((x) => x.article_id === a.id)
          .map((x) => ({
            format: x.format,
            status: x.status,
            contentType: x.content_type,
            sizeBytes: x.size_bytes === null ? null : Number(x.size_bytes),
            sha256: x.sha256,
            file: x.status === 'succeeded' && x.storage_key ? x.storage_key : null,
          })),
      };
    }
    const last = rows.at(-1)!;
    cursor = { createdAt: last.created_at, id: last.id };
  }
}

/** HT Base's export document, streamed: `{format, version, exportedAt, archives: [...]}`. */
export function jsonExport(records: AsyncIterable<ExportedArchive>, exportedAt = new Date()): Readable {
  return Readable.from(
    (async function* () {
      yield `{"format":"htbase-export","version":1,"exportedAt":${JSON.stringify(exportedAt.toISOString())},"archives":[`;
      let first = true;
      for await (const r of records) {
        yield `${first ? '\n' : ',\n'}${JSON.stringify(r)}`;
        first = false;
      }
      yield '\n]}\n';
    })(),
  );
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * The Netscape bookmark file browsers, Karakeep and Linkwarden import: one flat list (a folder would come back
 * as a tag), ADD_DATE in seconds, TAGS comma-separated, the note as <DD>.
 */
export function netscapeExport(records: AsyncIterable<ExportedArchive>): Readable {
  return Readable.from(
    (async function* () {
      yield (
        '<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<!-- This is an automatically generated file. -->\n' +
        '<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">\n<TITLE>Bookmarks</TITLE>\n<H1>Bookmarks</H1>\n<DL><p>\n'
      );
      for await (const r of records) {
        const date = Math.floor(new Date(r.savedAt).getTime() / 1000);
        const tags = r.tags
          .filter((t) => !t.includes(','))
          .map(esc)
          .join(',');
        yield `    <DT><A HREF="${esc(r.url)}" ADD_DATE="${date}"${tags ? ` TAGS="${tags}"` : ''}>${esc(r.title ?? r.url)}</A>\n`;
        if (r.note) yield `    <DD>${esc(r.note)}\n`;
      }
      yield '</DL><p>\n';
    })(),
  );
}

/** Passes bytes through while hashing them; `onEnd` gets the sum and size before the stream ends. */
function hashing(onEnd: (r: { sha256: string; bytes: number }) => void): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
    flush(cb) {
      onEnd({ sha256: hash.digest('hex'), bytes });
      cb();
    },
  });
}

/**
 * The zip export, streamed: archive.json first, then each succeeded artifact under its storage key (opened only
 * when yazl reaches it, so one file is open at a time), then manifest.json and SHA256SUMS (`sha256sum -c`).
 * Two passes over the records: the JSON, then the files.
 */
export function zipExport(opts: { db: Db; blobs: BlobStore; ownerId: string; logger: Logger }): Readable {
  const zip = new yazl.ZipFile();
  const sums: Array<{ path: string; sha256: string; bytes: number }> = [];
  // Recorded as succeeded, but the bytes are gone from storage (GET .../artifacts answers 410 for these).
  const missing: string[] = [];
  const out = new PassThrough();
  const add = (path: string, open: () => Promise<NodeJS.ReadableStream>, compress: boolean) => {
    zip.addReadStreamLazy(path, { compress }, (cb) => {
      open().then(
        (src) => {
          const h = hashing((r) => sums.push({ path, ...r }));
          src.on('error', (err) => h.destroy(err));
          cb(null, src.pipe(h));
        },
        (err: Error) => {
          opts.logger.error({ err, object: path }, 'zip export: reading an artifact failed');
          out.destroy(err);
        },
      );
    });
  };
  zip.outputStream.on('error', (err) => out.destroy(err));
  zip.outputStream.pipe(out);
  (async () => {
    add('archive.json', async () => jsonExport(exportRecords(opts.db, opts.ownerId)), true);
    for await (const r of exportRecords(opts.db, opts.ownerId))
      for (const a of r.artifacts)
        if (a.file) {
          const key = a.file;
          if (!(await opts.blobs.stat(key))) {
            missing.push(key);
            continue;
          }
          // Already-compressed formats are stored as they are: deflating a PNG or PDF again costs CPU for nothing.
          add(key, () => opts.blobs.get(key), !/\.(png|pdf)$/.test(key));
        }
    zip.addReadStreamLazy('manifest.json', (cb) =>
      cb(null, Readable.from([JSON.stringify({ algorithm: 'sha256', files: sums, missing }, null, 1)])),
    );
    zip.addReadStreamLazy('SHA256SUMS', (cb) =>
      cb(null, Readable.from([sums.map((s) => `${s.sha256}  ${s.path}\n`).join('')])),
    );
    zip.end();
  })().catch((err) => {
    opts.logger.error({ err }, 'zip export failed');
    out.destroy(err as Error);
  });
  return out;
}

// What every import parser produces: one entry per line of the source file, either a bookmark (URL, title,
// saved date, tags, note) or a bad line with the reason, plus the error a whole file fails with.

/** The formats POST /imports understands; `htbase` is HT Base's own export (JSON, or the zip holding it). */
export const IMPORT_FORMATS = [
  'netscape',
  'pocket-html',
  'pocket-csv',
  'instapaper',
  'karakeep',
  'linkwarden',
  'omnivore',
  'wallabag',
  'urls',
  'htbase',
] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
export const isImportFormat = (s: string): s is ImportFormat => (IMPORT_FORMATS as readonly string[]).includes(s);

export interface Bookmark {
  /** As written in the file (trimmed); checked by the queuer's SSRF guard later, and by parseTarget now. */
  url: string;
  title: string | null;
  /** When the person saved it in the tool they come from. */
  savedAt: Date | null;
  /** Tags and folders (as tags), trimmed, without duplicates. */
  tags: string[];
  note: string | null;
}

/** One line of the file: `line` is 1-based (a row, an array index + 1, or a source line). */
export type Entry =
  { line: number; ok: true; item: Bookmark } | { line: number; ok: false; raw: string; reason: string };

export interface ParsedFile {
  format: ImportFormat;
  entries: Entry[];
}

/**
 * A file that cannot be imported at all: `unknown-format` (415: nothing recognisable) or `corrupt` (422: the
 * format is known but the file is broken). No line of such a file is stored.
 */
export class ImportFileError extends Error {
  constructor(
    readonly kind: 'unknown-format' | 'corrupt',
    message: string,
  ) {
    super(message);
    this.name = 'ImportFileError';
  }
}

/** Tags as a person would expect them: trimmed, empty ones dropped, the first spelling of each kept. */
export function cleanTags(tags: Iterable<string | null | undefined>): string[] {
  const seen = new Map<string, string>();
  for (const t of tags) {
    const v = (t ?? '').replace(/\s+/g, ' ').trim();
    if (v && !seen.has(v.toLowerCase())) seen.set(v.toLowerCase(), v);
  }
  return [...seen.values()];
}

/** A date from seconds (or milliseconds) since the epoch, or an ISO-like string; null when absent or invalid. */
export function parseDate(v: unknown): Date | null {
  if (v === null || v === undefined || v === '') return null;
  let d: Date;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{1,16}$/.test(v.trim()))) {
    const n = Number(v);
    if (n <= 0) return null;
    // Netscape and Pocket write seconds; Firefox's JSON and some tools write ms or µs.
    d = new Date(n > 1e14 ? n / 1000 : n > 1e11 ? n : n * 1000);
  } else if (typeof v === 'string') d = new Date(v.trim());
  else return null;
  return Number.isNaN(d.getTime()) ? null : d;
}

export const textOrNull = (v: unknown): string | null => {
  if (typeof v !== 'string') return null;
  const t = v.trim();
  return t ? t : null;
};

export function bookmark(
  line: number,
  url: unknown,
  fields: { title?: unknown; savedAt?: unknown; tags?: Iterable<string | null | undefined>; note?: unknown },
): Entry {
  const u = typeof url === 'string' ? url.trim() : '';
  if (!u) return { line, ok: false, raw: JSON.stringify(fields.title ?? '').slice(0, 200), reason: 'no URL' };
  return {
    line,
    ok: true,
    item: {
      url: u,
      title: textOrNull(fields.title),
      savedAt: parseDate(fields.savedAt),
      tags: cleanTags(fields.tags ?? []),
      note: textOrNull(fields.note),
    },
  };
}

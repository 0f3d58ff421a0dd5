// CSV exports: Pocket's (2024 and later: title,url,time_added,tags,status; tags joined by `|`) and
// Instapaper's (URL,Title,Selection,Folder,Timestamp[,Tags]; Tags a JSON array; a folder is a tag except the
// built-in Unread/Archive/Starred). Parsed with csv-parse; a row that breaks the CSV grammar fails the file.
import { parse } from 'csv-parse/sync';
import { bookmark, ImportFileError, type Entry } from './types.ts';

type Row = Record<string, string>;

function rows(text: string): Array<{ line: number; row: Row }> {
  try {
    const records = parse(text, {
      columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
      skip_empty_lines: true,
      relax_column_count: true,
      bom: true,
      info: true,
    }) as Array<{ record: Row; info: { lines: number } }>;
    return records.map((r) => ({ line: r.info.lines, row: r.record }));
  } catch (err) {
    throw new ImportFileError('corrupt', `the CSV file cannot be read: ${(err as Error).message}`);
  }
}

export function headerOf(text: string): string[] {
  const first = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0] ?? '';
  return first.split(',').map((h) => h.trim().replace(/^"|"$/g, '').toLowerCase());
}

export const isPocketCsv = (h: string[]) => h.includes('url') && h.includes('time_added');
export const isInstapaperCsv = (h: string[]) => h.includes('url') && h.includes('folder') && h.includes('timestamp');

export function parsePocketCsv(text: string): Entry[] {
  return rows(text).map(({ line, row }) =>
    bookmark(line, row.url, {
      title: row.title,
      savedAt: row.time_added,
      tags: (row.tags ?? '').split('|'),
    }),
  );
}

const INSTAPAPER_FOLDERS = new Set(['unread', 'archive', 'starred']);

function instapaperTags(raw: string | undefined): string[] {
  if (!raw?.trim()) return [];
  try {
    const v: unknown = JSON.parse(raw);
    if (Array.isArray(v)) return v.map((t) => String(typeof t === 'object' && t && 'name' in t ? t.name : t));
  } catch {
    // Older exports wrote a plain comma-separated list.
  }
  return raw.split(',');
}

export function parseInstapaperCsv(text: string): Entry[] {
  return rows(text).map(({ line, row }) => {
    const folder = (row.folder ?? '').trim();
    return bookmark(line, row.url, {
      title: row.title,
      savedAt: row.timestamp,
      tags: [...(folder && !INSTAPAPER_FOLDERS.has(folder.toLowerCase()) ? [folder] : []), ...instapaperTags(row.tags)],
      // The passage the person highlighted when saving: their note on the page.
      note: row.selection,
    });
  });
}

// One entry point for an uploaded file: recognise its format from its bytes (or take the one named), unpack a
// zip (Omnivore's export, HT Base's own), parse it, then check every line's URL (http(s), no credentials) and
// merge lines of the same normalized URL. Nothing here touches the network or the database.
import yauzl from 'yauzl';
import { parseTargetUrl } from '../net/ssrf.ts';
import { normalizeUrl } from '../core/url.ts';
import { PermanentError } from '../core/errors.ts';
import { isNetscape, isPocketHtml, parseBookmarkHtml } from './html.ts';
import { headerOf, isInstapaperCsv, isPocketCsv, parseInstapaperCsv, parsePocketCsv } from './csv.ts';
import { jsonFormatOf, omnivore, parseJsonExport } from './json.ts';
import { cleanTags, ImportFileError, type Entry, type ImportFormat } from './types.ts';

/** A line to archive: the file's lines of one normalized URL merged (tags united, notes joined, earliest date). */
export interface ImportLine {
  line: number;
  url: string;
  normalizedUrl: string;
  host: string;
  title: string | null;
  savedAt: Date | null;
  tags: string[];
  note: string | null;
  /** The other lines of the file that named the same page. */
  mergedLines: number[];
}

export interface BadLine {
  line: number;
  raw: string;
  reason: string;
}

export interface PreparedImport {
  format: ImportFormat;
  lines: ImportLine[];
  failed: BadLine[];
  /** Lines merged into an earlier line of the same file. */
  duplicates: number;
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** Uncompressed bytes read out of one zip: a small zip cannot unpack into gigabytes. */
const MAX_UNZIPPED_BYTES = 512 * 1024 * 1024;

async function readZip(buf: Buffer, want: (name: string) => boolean): Promise<Map<string, string>> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.fromBuffer(buf, { lazyEntries: true, validateEntrySizes: true }, (err, z) => (err ? rej(err) : res(z!))),
  ).catch((err: Error) => {
    throw new ImportFileError('corrupt', `the zip file cannot be read: ${err.message}`);
  });
  const out = new Map<string, string>();
  let total = 0;
  return new Promise((resolve, reject) => {
    const fail = (err: Error) => {
      zip.close();
      reject(
        err instanceof ImportFileError ? err : new ImportFileError('corrupt', `the zip file is broken: ${err.message}`),
      );
    };
    zip.on('error', fail);
    zip.on('end', () => resolve(out));
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName.endsWith('/') || !want(entry.fileName)) return zip.readEntry();
      total += entry.uncompressedSize;
      if (total > MAX_UNZIPPED_BYTES) return fail(new ImportFileError('corrupt', 'the zip file unpacks to too much'));
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return fail(err ?? new Error('no stream'));
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', fail);
        stream.on('end', () => {
          out.set(entry.fileName, Buffer.concat(chunks).toString('utf8'));
          zip.readEntry();
        });
      });
    });
    zip.readEntry();
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ImportFileError('corrupt', `the JSON file cannot be read: ${(err as Error).message}`);
  }
}

async function parseZip(
  buf: Buffer,
  named: ImportFormat | undefined,
): Promise<{ format: ImportFormat; entries: Entry[] }> {
  const files = await readZip(
    buf,
    (n) => /(^|\/)(archive\.json|metadata_[^/]*\.json)$/.test(n) || /(^|\/)highlights\/[^/]+\.md$/.test(n),
  );
  const own = [...files.keys()].find((n) => /(^|\/)archive\.json$/.test(n));
  if (own && (!named || named === 'htbase'))
    return { format: 'htbase', entries: parseJsonExport('htbase', parseJson(files.get(own)!)) };
  const metadata = [...files.keys()]
    .filter((n) => /metadata_[^/]*\.json$/.test(n))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  if (metadata.length && (!named || named === 'omnivore')) {
    const highlights = new Map<string, string>();
    for (const [name, text] of files) {
      const m = /highlights\/([^/]+)\.md$/.exec(name);
      if (m && text.trim()) highlights.set(m[1]!, text.trim());
    }
    const articles = metadata.flatMap((n) => {
      const doc = parseJson(files.get(n)!);
      if (!Array.isArray(doc)) throw new ImportFileError('corrupt', `${n} is not a list of articles`);
      return doc;
    });
    return { format: 'omnivore', entries: omnivore(articles, highlights) };
  }
  throw new ImportFileError(
    'unknown-format',
    'a zip file without archive.json (HT Base) or metadata_*.json (Omnivore)',
  );
}

function parseUrlList(text: string): Entry[] {
  const entries: Entry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (!t || t.startsWith('#')) return;
    entries.push({ line: i + 1, ok: true, item: { url: t, title: null, savedAt: null, tags: [], note: null } });
  });
  return entries;
}

/** A text that is a list of URLs: its first meaningful line is one (anything later may be a bad line). */
function looksLikeUrlList(text: string): boolean {
  const first = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l && !l.startsWith('#'));
  return !!first && /^[a-z][a-z0-9+.-]*:\/\/\S+$/i.test(first);
}

function isText(buf: Buffer): boolean {
  const sample = buf.subarray(0, 8192);
  return !sample.includes(0) && !sample.toString('utf8').includes('\uFFFD');
}

function detectText(text: string, named: ImportFormat | undefined): { format: ImportFormat; entries: Entry[] } {
  const head = text.slice(0, 4096);
  const start = head.replace(/^\uFEFF/, '').trimStart();
  const fmt = named ?? guessText(text, head, start);
  switch (fmt) {
    case 'netscape':
    case 'pocket-html':
      if (!/<a\s/i.test(text) && !isNetscape(head))
        throw new ImportFileError('corrupt', 'no bookmark links in this HTML file');
      return { format: fmt, entries: parseBookmarkHtml(text) };
    case 'pocket-csv':
      if (!isPocketCsv(headerOf(text)))
        throw new ImportFileError('corrupt', 'a Pocket CSV starts with title,url,time_added,tags,status');
      return { format: fmt, entries: parsePocketCsv(text) };
    case 'instapaper':
      if (!isInstapaperCsv(headerOf(text)))
        throw new ImportFileError('corrupt', 'an Instapaper CSV starts with URL,Title,Selection,Folder,Timestamp');
      return { format: fmt, entries: parseInstapaperCsv(text) };
    case 'urls':
      return { format: fmt, entries: parseUrlList(text) };
    default: {
      const doc = parseJson(text);
      const shape = jsonFormatOf(doc);
      if (!shape || (named && shape !== named))
        throw new ImportFileError(
          named ? 'corrupt' : 'unknown-format',
          named ? `this JSON is not a ${named} export` : 'a JSON file of no known export format',
        );
      return { format: shape, entries: parseJsonExport(shape, doc) };
    }
  }
}

function guessText(text: string, head: string, start: string): ImportFormat | 'json' {
  if (isNetscape(head)) return 'netscape';
  if (/^</.test(start)) {
    if (isPocketHtml(head) || isPocketHtml(text)) return 'pocket-html';
    if (/<dl[\s>]/i.test(text) && /<a\s[^>]*href=/i.test(text)) return 'netscape';
    throw new ImportFileError('unknown-format', 'an HTML file that is neither a bookmark file nor a Pocket export');
  }
  if (start.startsWith('{') || start.startsWith('[')) return 'json';
  const header = headerOf(text);
  if (isPocketCsv(header)) return 'pocket-csv';
  if (isInstapaperCsv(header)) return 'instapaper';
  if (looksLikeUrlList(text)) return 'urls';
  throw new ImportFileError('unknown-format', 'not a bookmark file, a known export, or a list of URLs');
}

/** Reads the file into lines; throws ImportFileError when the file as a whole cannot be imported. */
export async function readImportFile(
  buf: Buffer,
  named?: ImportFormat,
): Promise<{ format: ImportFormat; entries: Entry[] }> {
  if (buf.length === 0) throw new ImportFileError('corrupt', 'the file is empty');
  if (buf.subarray(0, 4).equals(ZIP_MAGIC)) return parseZip(buf, named);
  if (named === 'omnivore' && !buf.subarray(0, 4).equals(ZIP_MAGIC) && !isText(buf))
    throw new ImportFileError('corrupt', 'not an Omnivore export');
  if (!isText(buf)) throw new ImportFileError('unknown-format', 'a binary file that is not a zip');
  return detectText(buf.toString('utf8'), named);
}

function checkLine(e: Entry & { ok: true }): ImportLine | BadLine {
  let url: URL;
  try {
    url = parseTargetUrl(e.item.url);
  } catch (err) {
    if (err instanceof PermanentError)
      return { line: e.line, raw: e.item.url.slice(0, 500), reason: `${err.code}: ${err.message}` };
    throw err;
  }
  return {
    line: e.line,
    url: url.href,
    normalizedUrl: normalizeUrl(url),
    host: url.hostname.toLowerCase(),
    title: e.item.title,
    savedAt: e.item.savedAt,
    tags: e.item.tags,
    note: e.item.note,
    mergedLines: [],
  };
}

/** Merges `b` into `a`: the first title, the earliest date, every tag, every distinct note. */
function merge(a: ImportLine, b: ImportLine): void {
  a.title ??= b.title;
  if (b.savedAt && (!a.savedAt || b.savedAt < a.savedAt)) a.savedAt = b.savedAt;
  a.tags = cleanTags([...a.tags, ...b.tags]);
  if (b.note && b.note !== a.note && !a.note?.includes(b.note)) a.note = a.note ? `${a.note}\n\n${b.note}` : b.note;
  a.mergedLines.push(b.line);
}

export async function prepareImport(buf: Buffer, named?: ImportFormat): Promise<PreparedImport> {
  const { format, entries } = await readImportFile(buf, named);
  const byUrl = new Map<string, ImportLine>();
  const failed: BadLine[] = [];
  let duplicates = 0;
  for (const e of entries) {
    if (!e.ok) {
      failed.push({ line: e.line, raw: e.raw, reason: e.reason });
      continue;
    }
    const r = checkLine(e);
    if (!('url' in r)) {
      failed.push(r);
      continue;
    }
    const prior = byUrl.get(r.normalizedUrl);
    if (prior) {
      merge(prior, r);
      duplicates++;
    } else byUrl.set(r.normalizedUrl, r);
  }
  return { format, lines: [...byUrl.values()], failed, duplicates };
}

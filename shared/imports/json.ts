// JSON exports: Karakeep ({bookmarks: [{createdAt, title, tags, content: {type, url}, note}]}), Linkwarden
// ({collections: [{id, name, parentId, links: [{name, url, description, createdAt, tags: [{name}]}]}]}),
// Omnivore ([{title, url, labels, savedAt, state}]), wallabag ([{url, title, tags, created_at, annotations}])
// and HT Base's own ({format: 'htbase-export', archives}). The file's shape picks the format; each element is
// read defensively so that one odd element is one bad line, not a lost file.
import { bookmark, type Entry, type ImportFormat } from './types.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strings = (v: unknown): string[] =>
  arr(v).map((t) => (isObj(t) ? String(t.name ?? t.label ?? '') : String(t ?? '')));

const bad = (line: number, el: unknown, reason: string): Entry => ({
  line,
  ok: false,
  raw: JSON.stringify(el)?.slice(0, 200) ?? '',
  reason,
});

/** Which JSON export this is, from its top-level shape; null when none fits. */
export function jsonFormatOf(doc: unknown): ImportFormat | null {
  if (isObj(doc)) {
    if (doc.format === 'htbase-export' && Array.isArray(doc.archives)) return 'htbase';
    if (Array.isArray(doc.bookmarks)) return 'karakeep';
    if (Array.isArray(doc.collections)) return 'linkwarden';
    return null;
  }
  if (!Array.isArray(doc)) return null;
  const first = doc.find(isObj);
  if (!first) return null;
  if ('labels' in first || 'savedAt' in first) return 'omnivore';
  if ('is_archived' in first || 'is_starred' in first || 'created_at' in first) return 'wallabag';
  return null;
}

function karakeep(doc: Obj): Entry[] {
  return arr(doc.bookmarks).map((el, i) => {
    if (!isObj(el)) return bad(i + 1, el, 'not a bookmark object');
    const content = isObj(el.content) ? el.content : null;
    if (content && content.type !== 'link') return bad(i + 1, el, `a ${String(content.type)} bookmark, not a link`);
    return bookmark(i + 1, content?.url, {
      title: el.title,
      savedAt: el.createdAt,
      tags: strings(el.tags),
      note: el.note,
    });
  });
}

function linkwarden(doc: Obj): Entry[] {
  const collections = arr(doc.collections).filter(isObj);
  const byId = new Map(collections.map((c) => [c.id, c]));
  // A collection's path from the root: nested collections are folders, and folders become tags.
  const path = (c: Obj): string[] => {
    const out: string[] = [];
    for (let cur: Obj | undefined = c, n = 0; cur && n < 64; cur = byId.get(cur.parentId), n++)
      if (typeof cur.name === 'string') out.unshift(cur.name);
    return out;
  };
  let line = 0;
  return collections.flatMap((c) => {
    const folders = path(c);
    return arr(c.links).map((el) => {
      line++;
      if (!isObj(el)) return bad(line, el, 'not a link object');
      return bookmark(line, el.url, {
        title: el.name,
        savedAt: el.createdAt,
        tags: [...folders, ...strings(el.tags)],
        note: el.description,
      });
    });
  });
}

/** Omnivore: `highlights` maps an article's slug to its highlights file (Markdown: quotes and the person's notes). */
export function omnivore(doc: unknown[], highlights: Map<string, string> = new Map()): Entry[] {
  return doc.map((el, i) => {
    if (!isObj(el)) return bad(i + 1, el, 'not an article object');
    return bookmark(i + 1, el.url, {
      title: el.title,
      savedAt: el.savedAt,
      tags: strings(el.labels),
      note: typeof el.slug === 'string' ? highlights.get(el.slug) : undefined,
    });
  });
}

function wallabag(doc: unknown[]): Entry[] {
  return doc.map((el, i) => {
    if (!isObj(el)) return bad(i + 1, el, 'not an entry object');
    const notes = arr(el.annotations)
      .filter(isObj)
      .map((a) => [a.quote ? `> ${String(a.quote)}` : '', a.text ? String(a.text) : ''].filter(Boolean).join('\n'))
      .filter(Boolean);
    return bookmark(i + 1, el.url ?? el.given_url, {
      title: el.title,
      savedAt: el.created_at,
      tags: strings(el.tags),
      note: notes.join('\n\n'),
    });
  });
}

function htbase(doc: Obj): Entry[] {
  return arr(doc.archives).map((el, i) => {
    if (!isObj(el)) return bad(i + 1, el, 'not an archive object');
    return bookmark(i + 1, el.url, {
      title: el.title,
      savedAt: el.savedAt ?? el.createdAt,
      tags: strings(el.tags),
      note: el.note,
    });
  });
}

export function parseJsonExport(format: ImportFormat, doc: unknown): Entry[] {
  switch (format) {
    case 'karakeep':
      return karakeep(doc as Obj);
    case 'linkwarden':
      return linkwarden(doc as Obj);
    case 'omnivore':
      return omnivore(doc as unknown[]);
    case 'wallabag':
      return wallabag(doc as unknown[]);
    case 'htbase':
      return htbase(doc as Obj);
    default:
      throw new TypeError(`parseJsonExport: ${format} is not a JSON format`);
  }
}

// Bookmark files written as HTML: the Netscape bookmark file (Chrome, Firefox, Safari, Edge, Pinboard: nested
// <DL> folders under <DT><H3>, <A HREF ADD_DATE TAGS>, an optional <DD> note) and Pocket's HTML export.
// Read with htmlparser2's event parser: these files leave <DT>/<p> unclosed, so no tree is built.
import { Parser } from 'htmlparser2';
import { bookmark, type Entry } from './types.ts';

/** Browser root folders (the bookmarks bar, "Other bookmarks"): where a bookmark lives, not what it is about. */
const ROOT_FOLDER_ATTRS = ['personal_toolbar_folder', 'unfiled_bookmarks_folder'];

function lineIndex(text: string): (offset: number) => number {
  const breaks: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) breaks.push(i);
  return (offset) => {
    let lo = 0;
    let hi = breaks.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (breaks[mid]! < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
}

interface Open {
  line: number;
  href: string | undefined;
  attrs: Record<string, string>;
  folders: string[];
  title: string;
  note: string | null;
}

/** Both HTML formats: folders (Netscape) become tags; Pocket's `tags` and `time_added` attributes are read too. */
export function parseBookmarkHtml(text: string): Entry[] {
  const lineOf = lineIndex(text);
  const entries: Open[] = [];
  const folders: Array<string | null> = [];
  let pendingFolder: string | null = null;
  let folderText: { text: string; skip: boolean } | null = null;
  let anchor: Open | null = null;
  let note: Open | null = null;

  const finish = (o: Open): Entry =>
    bookmark(o.line, o.href, {
      title: o.title,
      savedAt: o.attrs.add_date ?? o.attrs.time_added,
      tags: [...o.folders, ...(o.attrs.tags ?? '').split(',')],
      note: o.note,
    });

  const parser: Parser = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'dt' || name === 'dl' || name === 'h3' || name === 'a' || name === 'li') note = null;
        if (name === 'h3') folderText = { text: '', skip: ROOT_FOLDER_ATTRS.some((a) => a in attrs) };
        else if (name === 'dl') {
          folders.push(pendingFolder);
          pendingFolder = null;
        } else if (name === 'a') {
          anchor = {
            line: lineOf(parser.startIndex),
            href: attrs.href,
            attrs,
            folders: folders.filter((f): f is string => f !== null),
            title: '',
            note: null,
          };
          entries.push(anchor);
        } else if (name === 'dd') {
          note = entries.at(-1) ?? null;
        }
      },
      ontext(t) {
        if (folderText) folderText.text += t;
        else if (anchor) anchor.title += t;
        else if (note) note.note = (note.note ?? '') + t;
      },
      onclosetag(name) {
        if (name === 'h3' && folderText) {
          pendingFolder = folderText.skip ? null : folderText.text.replace(/\s+/g, ' ').trim() || null;
          folderText = null;
        } else if (name === 'a') anchor = null;
        else if (name === 'dl') {
          folders.pop();
          note = null;
        }
      },
    },
    { decodeEntities: true, lowerCaseAttributeNames: true, lowerCaseTags: true },
  );
  parser.write(text);
  parser.end();
  return entries.map(finish);
}

export const isNetscape = (head: string) => /^\s*<!doctype\s+netscape-bookmark-file-1>/i.test(head);
export const isPocketHtml = (head: string) =>
  /<title>\s*pocket export\s*<\/title>/i.test(head) || /<a\s[^>]*time_added=/i.test(head);

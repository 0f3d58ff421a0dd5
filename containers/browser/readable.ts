// The readable-text artifact: a rendered page's HTML -> Mozilla Readability on linkedom -> readable.json.
// Pure (no browser): the capture hands in the serialized DOM, tests hand in a string.
import { Readability } from '@mozilla/readability';
import { DOMParser } from 'linkedom';

export interface ReadableDoc {
  title: string;
  byline: string | null;
  lang: string | null;
  siteName: string | null;
  excerpt: string | null;
  /** Plain text, paragraphs separated by blank lines. */
  text: string;
  /** Readability's cleaned article HTML (links absolute); empty when the page is not an article. */
  html: string;
  wordCount: number;
  /** True when Readability found no article and `text` is the page body's text instead. */
  fallback: boolean;
  /** True when `text` was cut at MAX_TEXT_CHARS (the word count still covers all of it). */
  truncated?: boolean;
}

/** Most characters of text kept (readable.json, the article's text_content): about 1 MB of prose. */
export const MAX_TEXT_CHARS = 1_000_000;
/**
 * Readability scores every element, superlinearly in the DOM's size: beyond this many elements it is not run
 * and the page's body text stands in (fallback), which costs one linear walk.
 */
export const MAX_READABILITY_ELEMENTS = 30_000;
/** Intl.Segmenter's iteration slows with the length of the string it was given: it is fed windows this long. */
const SEGMENT_WINDOW = 4_096;

/** Extracts the article of `html` as served from `url` (relative links are resolved against it). */
export function extractReadable(html: string, url: string): ReadableDoc {
  const doc = parse(html, url);
  const pageLang = doc.documentElement?.getAttribute('lang')?.trim() || null;
  const pageTitle = (doc.querySelector('title')?.textContent ?? '').trim();
  // Readability mutates the document; the fallback needs the untouched body, so it parses its own copy.
  const article = tooManyElements(doc)
    ? null
    : new Readability(doc as unknown as Document, { charThreshold: 200 }).parse();
  if (article && article.content && (article.textContent ?? '').trim()) {
    const full = articleText(article.content, url);
    const text = full.slice(0, MAX_TEXT_CHARS);
    return {
      title: (article.title ?? pageTitle).trim(),
      byline: clean(article.byline),
      lang: clean(article.lang) ?? pageLang,
      siteName: clean(article.siteName),
      excerpt: clean(article.excerpt),
      text,
      html: article.content.replace(/<(\/?)DIV\b/g, '<$1div'), // linkedom keeps Readability's upper-case DIV
      wordCount: countWords(full),
      fallback: false,
      ...(text.length < full.length ? { truncated: true } : {}),
    };
  }
  const body = parse(html, url).querySelector('body');
  if (body) for (const el of body.querySelectorAll('script,style,noscript,template,svg')) el.remove();
  const full = body ? blockText(body) : '';
  const text = full.slice(0, MAX_TEXT_CHARS);
  return {
    title: pageTitle,
    byline: null,
    lang: pageLang,
    siteName: null,
    excerpt: text ? text.slice(0, 200).replace(/\s+/g, ' ') : null,
    text,
    html: '',
    wordCount: countWords(full),
    fallback: true,
    ...(text.length < full.length ? { truncated: true } : {}),
  };
}

/** Words as a reader counts them, in any script (Intl.Segmenter also splits CJK text into words). */
export function countWords(text: string): number {
  // One segment() over a long string is quadratic in V8 (150 kB took 12 s, issue 16): windows cut at a
  // space keep it linear and count the same words; a window with no space (CJK) is cut off a surrogate pair.
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });
  let n = 0;
  for (let start = 0; start < text.length;) {
    let end = Math.min(text.length, start + SEGMENT_WINDOW);
    if (end < text.length) {
      const space = text.lastIndexOf(' ', end);
      if (space > start) end = space + 1;
      else if (/[\uD800-\uDBFF]/.test(text[end - 1]!)) end--;
    }
    for (const s of segmenter.segment(text.slice(start, end))) if (s.isWordLike) n++;
    start = end;
  }
  return n;
}

function tooManyElements(doc: { querySelectorAll(s: string): { length: number } }): boolean {
  return doc.querySelectorAll('*').length > MAX_READABILITY_ELEMENTS;
}

function parse(html: string, url: string) {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  // linkedom has no document URL: a <base> lets Readability turn relative links into absolute ones.
  if (!doc.querySelector('base[href]')) {
    const head = doc.querySelector('head') ?? doc.documentElement;
    const base = doc.createElement('base', {});
    base.setAttribute('href', url);
    head?.insertBefore(base, head.firstChild);
  }
  return doc;
}

function articleText(articleHtml: string, url: string): string {
  const body = parse(`<!doctype html><html><body>${articleHtml}</body></html>`, url).querySelector('body');
  return body ? blockText(body) : '';
}

const BLOCK = new Set([
  'ADDRESS',
  'ARTICLE',
  'ASIDE',
  'BLOCKQUOTE',
  'BR',
  'DD',
  'DIV',
  'DL',
  'DT',
  'FIGCAPTION',
  'FIGURE',
  'FOOTER',
  'H1',
  'H2',
  'H3',
  'H4',
  'H5',
  'H6',
  'HEADER',
  'HR',
  'LI',
  'MAIN',
  'NAV',
  'OL',
  'P',
  'PRE',
  'SECTION',
  'TABLE',
  'TR',
  'UL',
  'TD',
  'TH',
  'CAPTION',
  'DETAILS',
  'SUMMARY',
  'FIELDSET',
  'LEGEND',
  'FORM',
  'BUTTON',
  'OPTION',
  'LABEL',
]);

/** Text with a blank line between blocks, spaces collapsed inside them (textContent glues blocks together). */
function blockText(root: { childNodes: ArrayLike<unknown> }): string {
  const parts: string[] = [];
  let line = '';
  const flush = () => {
    const t = line.replace(/\s+/g, ' ').trim();
    if (t) parts.push(t);
    line = '';
  };
  const walk = (node: {
    nodeType: number;
    nodeName: string;
    textContent: string | null;
    childNodes: ArrayLike<unknown>;
  }) => {
    if (node.nodeType === 3) {
      line += node.textContent ?? '';
      return;
    }
    if (node.nodeType !== 1) return;
    const block = BLOCK.has(node.nodeName.toUpperCase());
    if (block) flush();
    for (const child of Array.from(node.childNodes)) walk(child as Parameters<typeof walk>[0]);
    if (block) flush();
  };
  for (const child of Array.from(root.childNodes)) walk(child as Parameters<typeof walk>[0]);
  flush();
  return parts.join('\n\n');
}

function clean(s: string | null | undefined): string | null {
  const t = s?.replace(/\s+/g, ' ').trim();
  return t ? t : null;
}

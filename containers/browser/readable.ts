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
}

/** Extracts the article of `html` as served from `url` (relative links are resolved against it). */
export function extractReadable(html: string, url: string): ReadableDoc {
  const doc = parse(html, url);
  const pageLang = doc.documentElement?.getAttribute('lang')?.trim() || null;
  const pageTitle = (doc.querySelector('title')?.textContent ?? '').trim();
  // Readability mutates the document; the fallback needs the untouched body, so it parses its own copy.
  const article = new Readability(doc as unknown as Document, { charThreshold: 200 }).parse();
  if (article && article.content && (article.textContent ?? '').trim()) {
    const text = articleText(article.content, url);
    return {
      title: (article.title ?? pageTitle).trim(),
      byline: clean(article.byline),
      lang: clean(article.lang) ?? pageLang,
      siteName: clean(article.siteName),
      excerpt: clean(article.excerpt),
      text,
      html: article.content.replace(/<(\/?)DIV\b/g, '<$1div'), // linkedom keeps Readability's upper-case DIV
      wordCount: countWords(text),
      fallback: false,
    };
  }
  const body = parse(html, url).querySelector('body');
  if (body) for (const el of body.querySelectorAll('script,style,noscript,template,svg')) el.remove();
  const text = body ? blockText(body) : '';
  return {
    title: pageTitle,
    byline: null,
    lang: pageLang,
    siteName: null,
    excerpt: text ? text.slice(0, 200).replace(/\s+/g, ' ') : null,
    text,
    html: '',
    wordCount: countWords(text),
    fallback: true,
  };
}

/** Words as a reader counts them, in any script (Intl.Segmenter also splits CJK text into words). */
export function countWords(text: string): number {
  let n = 0;
  for (const s of new Intl.Segmenter(undefined, { granularity: 'word' }).segment(text)) if (s.isWordLike) n++;
  return n;
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

// Untrusted HTML (Readability's output, search snippets) turned into Preact nodes through an allow-list:
// parsed by DOMParser (which runs no script) and rebuilt tag by tag, so nothing outside the list reaches the DOM.
import { h, type ComponentChildren } from 'preact';

/** Block and inline tags a readable article needs; anything else is unwrapped (its text kept). */
const READABLE_TAGS = new Set(
  (
    'p h1 h2 h3 h4 h5 h6 ul ol li blockquote pre code em strong b i u s a br hr figure figcaption ' +
    'table thead tbody tfoot tr th td caption dl dt dd sup sub small mark abbr cite q time span div section article'
  ).split(' '),
);
/** Dropped together with their content: never text a reader wants, sometimes code. */
const DROP = new Set(
  'script style noscript template iframe frame frameset object embed applet form input button select textarea svg math link meta base head title'.split(
    ' ',
  ),
);

const safeHref = (href: string | null): string | undefined => {
  if (!href) return undefined;
  try {
    const u = new URL(href, 'https://invalid.example/');
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : undefined;
  } catch {
    return undefined;
  }
};

function convert(node: Node, allowed: Set<string>, key: number): ComponentChildren {
  if (node.nodeType === Node.TEXT_NODE) return node.textContent;
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const el = node as Element;
  const tag = el.tagName.toLowerCase();
  if (DROP.has(tag)) return null;
  const children = Array.from(el.childNodes, (c, i) => convert(c, allowed, i));
  if (tag === 'img') {
    // External images are blocked by the app's CSP anyway; the alt text keeps the meaning.
    const alt = el.getAttribute('alt');
    return alt ? h('span', { key, class: 'img-alt' }, `[${alt}]`) : null;
  }
  if (!allowed.has(tag)) return children;
  const props: Record<string, unknown> = { key };
  if (tag === 'a') {
    const href = safeHref(el.getAttribute('href'));
    if (href) Object.assign(props, { href, rel: 'noopener noreferrer nofollow', target: '_blank' });
  }
  for (const attr of ['title', 'colspan', 'rowspan'] as const) {
    const v = el.getAttribute(attr);
    if (v !== null && (attr === 'title' || /^\d{1,3}$/.test(v))) props[attr] = v;
  }
  return h(tag, props, children);
}

function sanitize(html: string, allowed: Set<string>): ComponentChildren {
  const doc = new DOMParser().parseFromString(html, 'text/html');
  return Array.from(doc.body.childNodes, (c, i) => convert(c, allowed, i));
}

export const sanitizeReadable = (html: string): ComponentChildren => sanitize(html, READABLE_TAGS);

/** Search snippets: only <mark> survives; every other tag becomes its text. */
export const sanitizeSnippet = (html: string): ComponentChildren => sanitize(html, new Set(['mark']));

// The monolith stand-in's document processing: inlines scripts, images (src, data-src, srcset), stylesheets and
// their url()s, icons and <style> blocks as data: URLs, then adds <base>, the favicon, CSP (-I), robots, metadata.
import { Buffer } from 'node:buffer';
import { VERSION } from './cli-args.mjs';
import { retrieve } from './net.mjs';

const dataUrl = (mediaType, data) =>
  `data:${mediaType || 'application/octet-stream'};base64,${Buffer.from(data).toString('base64')}`;
const attrRe = (name) => new RegExp(`(\\s${name}\\s*=\\s*)("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i');
const getAttr = (tag, name) => {
  const m = attrRe(name).exec(tag);
  return m ? (m[3] ?? m[4] ?? m[5] ?? '') : null;
};
const setAttr = (tag, name, value) =>
  attrRe(name).test(tag)
    ? tag.replace(attrRe(name), (_m, pre) => `${pre}"${value}"`)
    : tag.replace(/\s*\/?>$/, (end) => ` ${name}="${value}"${end}`);
const resolveUrl = (value, base) => {
  try {
    return new URL(value.trim(), base).href;
  } catch {
    return null;
  }
};

async function replaceAsync(text, re, fn) {
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(re)) {
    parts.push(text.slice(last, m.index), await fn(m));
    last = m.index + m[0].length;
  }
  parts.push(text.slice(last));
  return parts.join('');
}

async function embedCss(css, baseUrl, opts) {
  return replaceAsync(css, /url\(\s*(['"]?)([^'")]+)\1\s*\)/gi, async (m) => {
    const abs = resolveUrl(m[2], baseUrl);
    if (!abs || abs.startsWith('data:') || !/^https?:/.test(abs)) return m[0];
    if (opts.no_images) return 'url("")';
    const got = await retrieve(abs, opts, baseUrl);
    return got ? `url("${dataUrl(got.mediaType, got.data)}")` : `url("${abs}")`;
  });
}

async function embedAssets(html, baseUrl, opts) {
  if (opts.no_js) {
    html = html.replace(/<script\b[\s\S]*?<\/script\s*>/gi, '').replace(/<script\b[^>]*\/>/gi, '');
    html = html.replace(/(<[a-z][^>]*?)\s+on[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '$1');
  } else {
    html = await replaceAsync(html, /<script\b[^>]*>/gi, async (m) => {
      const src = getAttr(m[0], 'src');
      const abs = src && resolveUrl(src, baseUrl);
      if (!abs || !/^https?:/.test(abs)) return m[0];
      const got = await retrieve(abs, opts, baseUrl);
      return setAttr(m[0], 'src', got ? dataUrl('text/javascript', got.data) : abs);
    });
  }
  html = await replaceAsync(html, /<img\b[^>]*>/gi, async (m) => {
    if (opts.no_images) return setAttr(m[0], 'src', '');
    const src = getAttr(m[0], 'data-src') || getAttr(m[0], 'src');
    const abs = src && resolveUrl(src, baseUrl);
    if (!abs || !/^https?:/.test(abs)) return m[0];
    const got = await retrieve(abs, opts, baseUrl);
    let tag = setAttr(m[0], 'src', got ? dataUrl(got.mediaType, got.data) : abs);
    const srcset = getAttr(tag, 'srcset');
    if (srcset) {
      const items = [];
      for (const item of srcset.split(',')) {
        const [u, ...desc] = item.trim().split(/\s+/);
        const a = u && resolveUrl(u, baseUrl);
        const g = a && /^https?:/.test(a) ? await retrieve(a, opts, baseUrl) : null;
        items.push([g ? dataUrl(g.mediaType, g.data) : (a ?? u), ...desc].join(' '));
      }
      tag = setAttr(tag, 'srcset', items.join(', '));
    }
    return tag;
  });
  html = await replaceAsync(html, /<link\b[^>]*>/gi, async (m) => {
    const rel = (getAttr(m[0], 'rel') ?? '').toLowerCase().split(/\s+/);
    const href = getAttr(m[0], 'href');
    const abs = href && resolveUrl(href, baseUrl);
    if (!abs || !/^https?:/.test(abs)) return m[0];
    if (rel.includes('stylesheet')) {
      if (opts.no_css) return '';
      const got = await retrieve(abs, opts, baseUrl);
      if (!got) return setAttr(m[0], 'href', abs);
      const css = await embedCss(got.data.toString('utf8'), got.finalUrl.href, opts);
      return setAttr(m[0], 'href', dataUrl('text/css', Buffer.from(css)));
    }
    if (rel.includes('icon') && !opts.no_images) {
      const got = await retrieve(abs, opts, baseUrl);
      return setAttr(m[0], 'href', got ? dataUrl(got.mediaType, got.data) : abs);
    }
    return m[0];
  });
  if (!opts.no_css) {
    html = await replaceAsync(
      html,
      /(<style\b[^>]*>)([\s\S]*?)(<\/style\s*>)/gi,
      async (m) => `${m[1]}${await embedCss(m[2], baseUrl, opts)}${m[3]}`,
    );
  }
  return html;
}

function insertInHead(html, fragment) {
  if (/<head\b[^>]*>/i.test(html)) return html.replace(/<head\b[^>]*>/i, (h) => `${h}${fragment}`);
  if (/<html\b[^>]*>/i.test(html)) return html.replace(/<html\b[^>]*>/i, (h) => `${h}<head>${fragment}</head>`);
  return `<head>${fragment}</head>${html}`;
}

export async function createDocument(data, opts, { inputTarget, baseUrl }) {
  let html = data.toString('utf8');
  const docBase = opts.base_url ?? baseUrl;
  html = await embedAssets(html, docBase, opts);
  if (opts.base_url) {
    html = /<base\b[^>]*>/i.test(html)
      ? html.replace(/<base\b[^>]*>/i, (t) => setAttr(t, 'href', opts.base_url))
      : insertInHead(html, `<base href="${opts.base_url}">`);
  }
  if (
    inputTarget &&
    /^https?:/.test(docBase) &&
    !opts.no_images &&
    !/<link\b[^>]*rel\s*=\s*["']?[^"'>]*icon/i.test(html)
  ) {
    const got = await retrieve(new URL('/favicon.ico', docBase).href, opts, docBase);
    if (got) html = insertInHead(html, `<link rel="icon" href="${dataUrl(got.mediaType, got.data)}">`);
  }
  if (opts.isolate)
    html = insertInHead(
      html,
      `<meta http-equiv="Content-Security-Policy" content="default-src 'unsafe-eval' 'unsafe-inline' data:;">`,
    );
  if (!/<meta\b[^>]*name\s*=\s*["']?robots/i.test(html))
    html = insertInHead(html, '<meta name="robots" content="none">');
  if (!opts.no_metadata && inputTarget)
    html = `<!-- Saved from ${inputTarget} at ${new Date().toISOString()} using monolith v${VERSION} -->\n${html}`;
  if (!html.endsWith('\n')) html += '\n';
  return Buffer.from(html, 'utf8');
}

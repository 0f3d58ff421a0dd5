// The artifact formats, which worker produces each, and where each is stored.

export const FORMATS = ['singlefile', 'monolith', 'pdf', 'screenshot', 'readable'] as const;
export type Format = (typeof FORMATS)[number];

export const BROWSER_FORMATS = ['singlefile', 'pdf', 'screenshot', 'readable'] as const satisfies readonly Format[];
export type BrowserFormat = (typeof BROWSER_FORMATS)[number];

/**
 * `original`: a non-HTML URL (PDF, image, plain text) stored as served. It is not requested: the browser
 * worker adds it when its content-type probe finds such a resource.
 */
export type ArtifactFormat = Format | 'original' | 'thumbnail';

export const FORMAT_FILES: Record<ArtifactFormat, { file: string; contentType: string }> = {
  original: { file: 'original', contentType: 'application/octet-stream' },
  // A small WebP of the page's top made with the screenshot (the library's thumbnail); not requested either.
  thumbnail: { file: 'thumbnail.webp', contentType: 'image/webp' },
  singlefile: { file: 'singlefile.html', contentType: 'text/html; charset=utf-8' },
  monolith: { file: 'monolith.html', contentType: 'text/html; charset=utf-8' },
  pdf: { file: 'page.pdf', contentType: 'application/pdf' },
  screenshot: { file: 'screenshot.png', contentType: 'image/png' },
  readable: { file: 'readable.json', contentType: 'application/json' },
};

export function isFormat(s: string): s is Format {
  return (FORMATS as readonly string[]).includes(s);
}

export function isBrowserFormat(f: Format): f is BrowserFormat {
  return (BROWSER_FORMATS as readonly string[]).includes(f);
}

export function isArtifactFormat(s: string): s is ArtifactFormat {
  return s === 'original' || s === 'thumbnail' || isFormat(s);
}

export function storageKey(articleId: string, format: ArtifactFormat): string {
  return `articles/${articleId}/${FORMAT_FILES[format].file}`;
}

/** Parses `articles/{uuid}/{file}` back into its article id and format; null for keys we do not own. */
export function parseStorageKey(key: string): { articleId: string; format: ArtifactFormat } | null {
  const m = /^articles\/([0-9a-f-]{36})\/([a-z.-]+)$/.exec(key);
  if (!m) return null;
  const format = ([...FORMATS, 'original', 'thumbnail'] as const).find((f) => FORMAT_FILES[f].file === m[2]);
  return format ? { articleId: m[1]!, format } : null;
}

/** A file extension for a stored original, from its content type (for download names). */
export function extensionFor(contentType: string | null): string {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const known: Record<string, string> = {
    'application/pdf': '.pdf',
    'text/plain': '.txt',
    'text/markdown': '.md',
    'text/csv': '.csv',
    'application/json': '.json',
    'image/png': '.png',
    'image/jpeg': '.jpg',
    'image/gif': '.gif',
    'image/webp': '.webp',
    'image/svg+xml': '.svg',
    'image/avif': '.avif',
  };
  return known[t] ?? '';
}

/** Where the browser worker leaves the rendered DOM for monolith's rendered-DOM mode (not a user-facing artifact). */
export const renderedDomKey = (articleId: string) => `articles/${articleId}/rendered-dom.html`;

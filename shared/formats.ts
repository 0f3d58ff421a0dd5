// The artifact formats, which worker produces each, and where each is stored.

export const FORMATS = ['singlefile', 'monolith', 'pdf', 'screenshot', 'readable'] as const;
export type Format = (typeof FORMATS)[number];

export const BROWSER_FORMATS = ['singlefile', 'pdf', 'screenshot', 'readable'] as const satisfies readonly Format[];
export type BrowserFormat = (typeof BROWSER_FORMATS)[number];

export const FORMAT_FILES: Record<Format, { file: string; contentType: string }> = {
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

export function storageKey(articleId: string, format: Format): string {
  return `articles/${articleId}/${FORMAT_FILES[format].file}`;
}

/** Parses `articles/{uuid}/{file}` back into its article id and format; null for keys we do not own. */
export function parseStorageKey(key: string): { articleId: string; format: Format } | null {
  const m = /^articles\/([0-9a-f-]{36})\/([a-z.]+)$/.exec(key);
  if (!m) return null;
  const format = FORMATS.find((f) => FORMAT_FILES[f].file === m[2]);
  return format ? { articleId: m[1]!, format } : null;
}

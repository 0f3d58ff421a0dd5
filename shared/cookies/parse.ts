// Reading an uploaded cookie file: Netscape cookies.txt (curl, wget, yt-dlp, "Get cookies.txt" extensions) or a
// JSON array as browser cookie editors export it. Pure; a line that cannot be a cookie is reported, not guessed.
import { isIP } from 'node:net';
import { CookieInputError, type SiteCookie } from './types.ts';

export interface ParsedCookies {
  format: 'netscape' | 'json';
  cookies: SiteCookie[];
  /** 1-based line (Netscape) or index (JSON) and why it was left out. */
  rejected: Array<{ at: number; reason: string }>;
}

const NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The checks every cookie passes whatever file it came from: a domain that can hold cookies, sane name and value. */
export function validCookie(c: SiteCookie): string | null {
  if (!c.domain || !/^[a-z0-9.-]+$|^\[?[0-9a-f:]+\]?$/.test(c.domain)) return 'the domain is not a host name';
  // A cookie for a whole top-level domain (".com") would go to every site under it.
  if (!isIP(c.domain) && !c.domain.includes('.') && c.domain !== 'localhost') return 'a cookie for a whole TLD';
  if (!NAME.test(c.name)) return 'the name is empty or has characters a cookie name cannot have';
  if ([...c.value].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f || ch === ';'))
    return 'the value has control characters or a semicolon';
  if (!c.path.startsWith('/')) return 'the path does not start with /';
  return null;
}

function normalizeDomain(raw: string): { domain: string; leadingDot: boolean } {
  const d = raw.trim().toLowerCase();
  return { domain: d.replace(/^\./, ''), leadingDot: d.startsWith('.') };
}

export function parseNetscape(text: string): ParsedCookies {
  const cookies: SiteCookie[] = [];
  const rejected: ParsedCookies['rejected'] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    let line = raw;
    let httpOnly = false;
    if (line.startsWith('#HttpOnly_')) {
      httpOnly = true;
      line = line.slice('#HttpOnly_'.length);
    } else if (line.startsWith('#') || !line.trim()) return;
    const f = line.split('\t');
    if (f.length !== 7) {
      rejected.push({ at: i + 1, reason: `expected 7 tab-separated fields, found ${f.length}` });
      return;
    }
    const [dom, sub, path, secure, expires, name, value] = f as [string, ...string[]];
    const { domain, leadingDot } = normalizeDomain(dom);
    const exp = Number(expires);
    if (!Number.isFinite(exp) || exp < 0) {
      rejected.push({ at: i + 1, reason: 'the expiry is not a number' });
      return;
    }
    const c: SiteCookie = {
      name: name!,
      value: value!,
      domain,
      hostOnly: !(leadingDot || sub!.toUpperCase() === 'TRUE'),
      path: path || '/',
      secure: secure!.toUpperCase() === 'TRUE',
      httpOnly,
      expires: exp === 0 ? null : Math.floor(exp),
    };
    const bad = validCookie(c);
    if (bad) rejected.push({ at: i + 1, reason: bad });
    else cookies.push(c);
  });
  return { format: 'netscape', cookies, rejected };
}

const SAME_SITE: Record<string, SiteCookie['sameSite']> = {
  strict: 'Strict',
  lax: 'Lax',
  none: 'None',
  no_restriction: 'None',
};

/** A JSON array of cookies (Cookie-Editor, EditThisCookie, puppeteer's page.cookies()), or `{cookies: [...]}`. */
export function parseJsonCookies(text: string): ParsedCookies {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new CookieInputError('the file is neither a Netscape cookies.txt nor valid JSON');
  }
  const list = Array.isArray(data) ? data : (data as { cookies?: unknown })?.cookies;
  if (!Array.isArray(list)) throw new CookieInputError('the JSON must be an array of cookies (or {"cookies": [...]})');
  const cookies: SiteCookie[] = [];
  const rejected: ParsedCookies['rejected'] = [];
  list.forEach((x: Record<string, unknown>, i) => {
    if (!x || typeof x !== 'object' || typeof x.name !== 'string' || typeof x.domain !== 'string') {
      rejected.push({ at: i, reason: 'a cookie needs a string name and domain' });
      return;
    }
    const { domain, leadingDot } = normalizeDomain(x.domain);
    const expRaw = x.expirationDate ?? x.expires;
    const exp = typeof expRaw === 'number' && expRaw > 0 ? Math.floor(expRaw) : null;
    const c: SiteCookie = {
      name: x.name,
      value: typeof x.value === 'string' ? x.value : String(x.value ?? ''),
      domain,
      hostOnly: typeof x.hostOnly === 'boolean' ? x.hostOnly : !leadingDot,
      path: typeof x.path === 'string' && x.path ? x.path : '/',
      secure: x.secure === true,
      httpOnly: x.httpOnly === true,
      expires: exp,
      ...(typeof x.sameSite === 'string' && SAME_SITE[x.sameSite.toLowerCase()]
        ? { sameSite: SAME_SITE[x.sameSite.toLowerCase()] }
        : {}),
    };
    const bad = validCookie(c);
    if (bad) rejected.push({ at: i, reason: bad });
    else cookies.push(c);
  });
  return { format: 'json', cookies, rejected };
}

/** Detects the format: JSON starts with [ or {; anything else is read as cookies.txt. */
export function parseCookieFile(text: string): ParsedCookies {
  const t = text.replace(/^\uFEFF/, '').trimStart();
  const parsed = t.startsWith('[') || t.startsWith('{') ? parseJsonCookies(t) : parseNetscape(t);
  if (parsed.cookies.length === 0)
    throw new CookieInputError(
      parsed.rejected.length
        ? `no usable cookie in the file (first problem, at ${parsed.rejected[0]!.at}: ${parsed.rejected[0]!.reason})`
        : 'the file holds no cookie',
    );
  return parsed;
}

/** RFC 6265 5.1.3: whether `host` may receive a cookie of `c.domain` (host-only cookies: the exact host). */
export function domainMatches(host: string, c: Pick<SiteCookie, 'domain' | 'hostOnly'>): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  const d = c.domain.replace(/^\[|\]$/g, '');
  if (h === d) return true;
  if (c.hostOnly || isIP(h)) return false;
  return h.endsWith(`.${d}`);
}

/** The domains whose stored rows can hold a cookie for `host`: itself and each parent (a.b.c -> a.b.c, b.c, c). */
export function candidateDomains(host: string): string[] {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (isIP(h)) return [h];
  const parts = h.split('.');
  return parts.map((_, i) => parts.slice(i).join('.'));
}

/** The Netscape cookies.txt text for `cookies` (monolith's -C file). */
export function toNetscape(cookies: SiteCookie[]): string {
  const lines = cookies.map((c) =>
    [
      `${c.httpOnly ? '#HttpOnly_' : ''}${c.hostOnly ? c.domain : `.${c.domain}`}`,
      c.hostOnly ? 'FALSE' : 'TRUE',
      c.path,
      c.secure ? 'TRUE' : 'FALSE',
      String(c.expires ?? 0),
      c.name,
      c.value,
    ].join('\t'),
  );
  return `# Netscape HTTP Cookie File\n${lines.join('\n')}\n`;
}

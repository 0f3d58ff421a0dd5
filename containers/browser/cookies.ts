// The owner's cookies as puppeteer cookie parameters: a host-only cookie is set through its site's URL (Chromium
// then sends it to that host only), a domain cookie with its leading-dot domain (that host and its subdomains).
import type { CookieParam } from 'puppeteer-core';
import type { SiteCookie } from '../../shared/cookies/types.ts';

export function toCookieParams(cookies: SiteCookie[]): CookieParam[] {
  return cookies.map((c) => {
    const host = c.domain.includes(':') && !c.domain.startsWith('[') ? `[${c.domain}]` : c.domain;
    return {
      name: c.name,
      value: c.value,
      ...(c.hostOnly ? { url: `${c.secure ? 'https' : 'http'}://${host}${c.path}` } : { domain: `.${c.domain}` }),
      path: c.path,
      secure: c.secure,
      httpOnly: c.httpOnly,
      ...(c.expires !== null ? { expires: c.expires } : {}),
      ...(c.sameSite ? { sameSite: c.sameSite } : {}),
    };
  });
}

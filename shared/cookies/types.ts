// The vocabulary of logged-in capture: one cookie as stored (decrypted only in memory), and the port a capture
// worker asks for the cookies of a target.

export interface SiteCookie {
  name: string;
  value: string;
  /** Lower-case, without a leading dot. */
  domain: string;
  /** true: sent to `domain` exactly; false: to `domain` and its subdomains (RFC 6265 domain-match). */
  hostOnly: boolean;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  /** Unix seconds; null: a session cookie. */
  expires: number | null;
  sameSite?: 'Strict' | 'Lax' | 'None';
}

export interface CookieSource {
  /** The cookies of the article's owner that domain-match `target`'s host, unexpired. */
  forTarget(articleId: string, target: URL): Promise<SiteCookie[]>;
}

export class CookieInputError extends Error {
  override name = 'CookieInputError';
}

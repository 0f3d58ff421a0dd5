// Verifies Google ID tokens presented to the API (`Authorization: Bearer <id token>`): Google's
// signature and issuer, our audience (OAuth client id or the service URL), and an allow-list of
// emails or Workspace domains.
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { AuthError, GOOGLE_ISSUERS, bearerToken, keySet, verifyJwt } from './jwt.ts';

export { AuthError } from './jwt.ts';

export interface GoogleIdTokenVerifierOptions {
  audience: string | string[];
  /** Exact addresses allowed (case-insensitive). */
  allowedEmails?: string[];
  /** Workspace domains allowed, matched on the token's `hd` claim (Google sets it only for accounts it hosts). */
  allowedDomains?: string[];
  jwksUrl?: string;
  keys?: JSONWebKeySet;
  issuers?: string[];
  clockToleranceSeconds?: number;
}

export interface GoogleIdentity {
  sub: string;
  email: string;
  hostedDomain: string | null;
  claims: JWTPayload;
}

export interface GoogleIdTokenVerifier {
  verify(authorizationHeader: string | null | undefined): Promise<GoogleIdentity>;
}

export function createGoogleIdTokenVerifier(opts: GoogleIdTokenVerifierOptions): GoogleIdTokenVerifier {
  const emails = new Set((opts.allowedEmails ?? []).map((e) => e.toLowerCase()));
  const domains = new Set((opts.allowedDomains ?? []).map((d) => d.toLowerCase()));
  // Without an allow-list every Google account in the world would pass: refuse to build that.
  if (emails.size === 0 && domains.size === 0)
    throw new Error('createGoogleIdTokenVerifier needs allowedEmails or allowedDomains');
  const keys = keySet({ jwksUrl: opts.jwksUrl, keys: opts.keys });
  return {
    async verify(header) {
      const claims = await verifyJwt(bearerToken(header), keys, {
        issuers: opts.issuers ?? GOOGLE_ISSUERS,
        audience: opts.audience,
        clockToleranceSeconds: opts.clockToleranceSeconds,
      });
      const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : '';
      const hd = typeof claims.hd === 'string' ? claims.hd.toLowerCase() : null;
      if (!email || claims.email_verified !== true)
        throw new AuthError(403, 'email_not_verified', 'token carries no verified email');
      // The email's own domain is not trusted: anyone can register a Google account on any address they read.
      if (!emails.has(email) && !(hd && domains.has(hd)))
        throw new AuthError(403, 'not_allowed', 'this Google account is not allowed');
      return { sub: String(claims.sub ?? ''), email, hostedDomain: hd, claims };
    },
  };
}

// The JWT machinery shared by the push-request verifier (oidc.ts) and the API's Google ID tokens
// (google-id-token.ts): a key set (Google's JWKS, another URL, or given keys), signature and
// time checks with jose, and one error type that says which HTTP status a failure means.
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  jwtVerify,
  UnsecuredJWT,
  errors,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';

const GOOGLE_JWKS_URL = 'https://www.googleapis.com/oauth2/v3/certs';
export const GOOGLE_ISSUERS = ['https://accounts.google.com', 'accounts.google.com'];

/** Why a request was refused: 401 (no or bad credentials), 403 (valid but not for us), 503 (keys unreachable). */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    readonly status: 401 | 403 | 503,
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface KeySource {
  /** A JWKS endpoint (default Google's). Fetched lazily, cached, refetched when an unknown `kid` shows up. */
  jwksUrl?: string;
  /** Fixed keys instead of a URL (tests, or keys pinned in config). */
  keys?: JSONWebKeySet;
  /** Bound on one JWKS fetch, ms. Default 5000. */
  jwksTimeoutMs?: number;
}

export function keySet(src: KeySource): JWTVerifyGetKey {
  if (src.keys) return createLocalJWKSet(src.keys);
  return createRemoteJWKSet(new URL(src.jwksUrl ?? GOOGLE_JWKS_URL), {
    timeoutDuration: src.jwksTimeoutMs ?? 5000,
    // Refetch at most every 30 s on unknown kids; Google rotates keys over days.
    cooldownDuration: 30_000,
    cacheMaxAge: 3_600_000,
  });
}

/** The token of an `Authorization: Bearer <token>` header (case-insensitive scheme). */
export function bearerToken(header: string | null | undefined): string {
  if (!header) throw new AuthError(401, 'missing_token', 'no Authorization header');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new AuthError(401, 'malformed_authorization', 'Authorization is not a Bearer token');
  return m[1];
}

export interface VerifyOptions {
  issuers: string[];
  audience: string | string[];
  algorithms?: string[];
  clockToleranceSeconds?: number;
}

/** Verifies signature, issuer, expiry and audience; maps every failure to an AuthError. */
export async function verifyJwt(token: string, keys: JWTVerifyGetKey, opts: VerifyOptions): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: opts.issuers,
      audience: opts.audience,
      algorithms: opts.algorithms ?? ['RS256'],
      clockTolerance: opts.clockToleranceSeconds ?? 60,
    });
    return payload;
  } catch (err) {
    throw mapJoseError(err);
  }
}

/**
 * Checks an unsigned (`alg: none`) token's issuer, expiry and audience: only for the Firebase Auth emulator,
 * which mints such tokens, and only when a deployment turns the emulator on explicitly.
 */
export function verifyUnsignedJwt(token: string, opts: VerifyOptions): JWTPayload {
  try {
    return UnsecuredJWT.decode(token, {
      issuer: opts.issuers,
      audience: opts.audience,
      clockTolerance: opts.clockToleranceSeconds ?? 60,
    }).payload;
  } catch (err) {
    throw mapJoseError(err);
  }
}

function mapJoseError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof errors.JWTExpired) return new AuthError(401, 'token_expired', 'token expired', { cause: err });
  if (err instanceof errors.JWTClaimValidationFailed) {
    // A genuine token minted for someone else: authenticated, not authorised.
    if (err.claim === 'aud')
      return new AuthError(403, 'wrong_audience', 'token audience does not match', { cause: err });
    return new AuthError(401, `invalid_${err.claim}`, `token claim ${err.claim} is invalid`, { cause: err });
  }
  if (err instanceof errors.JWKSTimeout)
    return new AuthError(503, 'jwks_unavailable', 'signing keys could not be fetched in time', { cause: err });
  // The key set endpoint answered badly (non-200, not a JWKS): our problem, not the caller's.
  if (
    err instanceof errors.JWKSInvalid ||
    (err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message))
  ) {
    return new AuthError(503, 'jwks_unavailable', 'signing keys could not be fetched', { cause: err });
  }
  if (err instanceof errors.JOSEError)
    return new AuthError(401, 'invalid_token', `token rejected: ${err.code}`, { cause: err });
  // Network or HTTP failures fetching the key set: not the caller's fault.
  if (err instanceof TypeError || (err instanceof Error && /fetch|ECONN/i.test(err.message))) {
    return new AuthError(503, 'jwks_unavailable', 'signing keys could not be fetched', { cause: err });
  }
  return new AuthError(401, 'invalid_token', 'token rejected', { cause: err });
}

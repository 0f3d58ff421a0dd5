// Verifies the OIDC token Pub/Sub (or Cloud Tasks, or Eventarc) puts on every push request: Google's
// signature, the issuer, our audience, and the one service account allowed to push to us.
import type { JSONWebKeySet, JWTPayload } from 'jose';
import { AuthError, GOOGLE_ISSUERS, bearerToken, keySet, verifyJwt } from './jwt.ts';

export { AuthError } from './jwt.ts';

export interface PushVerifierOptions {
  /** The audience the subscription's push config names (by default the push endpoint URL). */
  audience: string | string[];
  /** The service account the subscription pushes as. */
  serviceAccountEmail: string | string[];
  /** Where the signing keys live (default Google's JWKS); or `keys` to give them directly. */
  jwksUrl?: string;
  keys?: JSONWebKeySet;
  issuers?: string[];
  clockToleranceSeconds?: number;
}

export interface PushClaims extends JWTPayload {
  email: string;
  email_verified?: boolean;
}

export interface PushVerifier {
  /** Resolves with the token's claims, or throws AuthError (401 missing/bad token, 403 wrong audience/account). */
  verify(authorizationHeader: string | null | undefined): Promise<PushClaims>;
}

export function createPushVerifier(opts: PushVerifierOptions): PushVerifier {
  const keys = keySet({ jwksUrl: opts.jwksUrl, keys: opts.keys });
  const emails = new Set([opts.serviceAccountEmail].flat().map((e) => e.toLowerCase()));
  if (emails.size === 0) throw new Error('createPushVerifier needs a service account email');
  return {
    async verify(header) {
      const token = bearerToken(header);
      const claims = await verifyJwt(token, keys, {
        issuers: opts.issuers ?? GOOGLE_ISSUERS,
        audience: opts.audience,
        clockToleranceSeconds: opts.clockToleranceSeconds,
      });
      const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : '';
      // Google sets email_verified on service-account tokens; an unverified email proves nothing.
      if (!email || claims.email_verified === false || !emails.has(email)) {
        throw new AuthError(403, 'wrong_service_account', 'token was not issued to the push service account');
      }
      return claims as PushClaims;
    },
  };
}

/**
 * The verifier a push endpoint (worker, sweep) builds from its configuration: verification on needs both the
 * audience and the service account, and switching it off is explicit and logged.
 */
export function pushVerifierFromConfig(
  c: {
    verify: boolean;
    audience?: string;
    serviceAccount?: string;
    jwksUrl?: string;
    names: { verify: string; audience: string; serviceAccount: string };
    offReason: string;
  },
  logger: { warn(obj: object, msg: string): void },
): PushVerifier | null {
  if (!c.verify) {
    logger.warn({}, `push token verification is OFF (${c.names.verify}=false): ${c.offReason}`);
    return null;
  }
  if (!c.audience || !c.serviceAccount) {
    throw new Error(
      `${c.names.verify} is on: ${c.names.audience} and ${c.names.serviceAccount} are required (set ${c.names.verify}=false ${c.offReason})`,
    );
  }
  return createPushVerifier({ audience: c.audience, serviceAccountEmail: c.serviceAccount, jwksUrl: c.jwksUrl });
}

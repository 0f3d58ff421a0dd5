// Verifies Firebase Authentication / Identity Platform ID tokens (what the web and mobile apps send after
// sign-in): Google's securetoken signature, issuer and audience of our Firebase project, and a uid.
import type { JSONWebKeySet } from 'jose';
import { AuthError, bearerToken, keySet, verifyJwt, verifyUnsignedJwt } from './jwt.ts';

export const FIREBASE_JWKS_URL =
  'https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com';

export interface FirebaseIdentity {
  uid: string;
  /** Lower-cased, and only when the provider verified it. */
  email: string | null;
}

export interface FirebaseIdTokenVerifier {
  verify(authorizationHeader: string | null | undefined): Promise<FirebaseIdentity>;
}

export function createFirebaseIdTokenVerifier(opts: {
  projectId: string;
  jwksUrl?: string;
  keys?: JSONWebKeySet;
  clockToleranceSeconds?: number;
  /**
   * Accept the Firebase Auth emulator's unsigned tokens (as FIREBASE_AUTH_EMULATOR_HOST does for firebase-admin)
   * instead of Google-signed ones: never on unless a deployment sets it explicitly.
   */
  emulator?: boolean;
}): FirebaseIdTokenVerifier {
  const keys = keySet({ jwksUrl: opts.jwksUrl ?? FIREBASE_JWKS_URL, keys: opts.keys });
  return {
    async verify(header) {
      const check = {
        issuers: [`https://securetoken.google.com/${opts.projectId}`],
        audience: opts.projectId,
        clockToleranceSeconds: opts.clockToleranceSeconds,
      };
      const token = bearerToken(header);
      const claims = opts.emulator ? verifyUnsignedJwt(token, check) : await verifyJwt(token, keys, check);
      const uid = typeof claims.sub === 'string' ? claims.sub : '';
      if (!uid || uid.length > 128) throw new AuthError(401, 'invalid_sub', 'token carries no uid');
      const email =
        typeof claims.email === 'string' && claims.email_verified === true ? claims.email.toLowerCase() : null;
      return { uid, email };
    },
  };
}

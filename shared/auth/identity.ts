// Who is asking: every credential the API accepts (an API key, a Google ID token, a Firebase ID token), or
// none on a single-process server that runs without keys, resolved to one user before any route runs.
import type { Kysely } from 'kysely';
import { decodeJwt } from 'jose';
import type { Database, KeyScope, Role } from '../db/types.ts';
import { firstAdmin, userForIdentity } from '../db/users.ts';
import { looksLikeApiKey, verifyApiKey } from './api-keys.ts';
import type { FirebaseIdTokenVerifier } from './firebase-id-token.ts';
import type { GoogleIdTokenVerifier } from './google-id-token.ts';
import { AuthError, bearerToken } from './jwt.ts';
import type { ApiKeyCache } from './key-cache.ts';

export interface Principal {
  userId: string;
  role: Role;
  /** What this credential may do: a `read` key cannot write, whoever its owner is. */
  scope: KeyScope;
  kind: 'api-key' | 'google' | 'firebase' | 'local';
  /** The API key used, for the audit trail of writes. */
  keyId?: string;
}

export interface AuthenticatorOptions {
  db: Kysely<Database>;
  /** Without keys required, a request with no credentials acts as the first admin (a loopback, one-person server). */
  keysRequired: boolean;
  google?: GoogleIdTokenVerifier | null;
  firebase?: FirebaseIdTokenVerifier | null;
  /** Emails (or `@domain` / bare domains) whose first Firebase sign-in creates a member user. */
  firebaseAllowed?: string[];
  /** Verified API keys kept for a few seconds (key-cache.ts); absent: every request reads its key. */
  keyCache?: ApiKeyCache;
}

export type Authenticator = (authorization: string | undefined) => Promise<Principal>;

/** Throws AuthError (401 no or bad credentials, 403 valid but not allowed, 503 keys unreachable). */
export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const allowed = new Set((opts.firebaseAllowed ?? []).map((a) => a.trim().toLowerCase().replace(/^@/, '')));
  const mayJoin = (email: string | null) =>
    !!email && (allowed.has(email) || allowed.has(email.slice(email.lastIndexOf('@') + 1)));
  let local: Promise<Principal> | null = null;

  return async (authorization) => {
    if (!authorization) {
      if (opts.keysRequired) throw new AuthError(401, 'missing_token', 'a credential is required');
      local ??= firstAdmin(opts.db).then((u) => ({ userId: u.id, role: u.role, scope: 'write', kind: 'local' }));
      return local.catch((err) => {
        local = null;
        throw err;
      });
    }
    const token = bearerToken(authorization);
    if (looksLikeApiKey(token)) {
      const key = await verifyApiKey(opts.db, token, new Date(), opts.keyCache);
      if (!key) throw new AuthError(401, 'invalid_key', 'the API key is unknown, revoked or expired');
      return { userId: key.userId, role: key.role, scope: key.scope, kind: 'api-key', keyId: key.id };
    }
    let issuer = '';
    try {
      issuer = String(decodeJwt(token).iss ?? '');
    } catch {
      throw new AuthError(401, 'invalid_token', 'the bearer token is neither an API key nor a JWT');
    }
    if (issuer.startsWith('https://securetoken.google.com/') && opts.firebase) {
      const who = await opts.firebase.verify(authorization);
      const existing = await opts.db
        .selectFrom('users')
        .select(['id', 'role'])
        .where('firebase_uid', '=', who.uid)
        .executeTakeFirst();
      if (existing) return { userId: existing.id, role: existing.role, scope: 'write', kind: 'firebase' };
      const byEmail = who.email
        ? await opts.db.selectFrom('users').select('id').where('email', '=', who.email).executeTakeFirst()
        : undefined;
      if (!byEmail && !mayJoin(who.email))
        throw new AuthError(403, 'not_allowed', 'this account has no user on this HT Base');
      const user = await userForIdentity(opts.db, { email: who.email, firebaseUid: who.uid });
      return { userId: user.id, role: user.role, scope: 'write', kind: 'firebase' };
    }
    if (opts.google) {
      // The verifier holds the allow-list of emails and Workspace domains.
      const who = await opts.google.verify(authorization);
      const user = await userForIdentity(opts.db, { email: who.email });
      return { userId: user.id, role: user.role, scope: 'write', kind: 'google' };
    }
    throw new AuthError(401, 'invalid_token', 'this kind of token is not accepted here');
  };
}

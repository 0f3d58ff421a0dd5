// Who may call the API and from where, built from its configuration once for every entry point (the cloud
// function and the single process): the authenticator, the Host/Origin/Content-Type guards and `trust proxy`.
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import type { ApiConfig } from '../../shared/core/config.ts';
import { createAuthenticator, type Authenticator } from '../../shared/auth/identity.ts';
import { createApiKeyCache, listenForRevocations } from '../../shared/auth/key-cache.ts';
import type { Logger } from '../../shared/core/logger.ts';
import { createFirebaseIdTokenVerifier } from '../../shared/auth/firebase-id-token.ts';
import { createGoogleIdTokenVerifier } from '../../shared/auth/google-id-token.ts';
import { allowedHostsFor, type RequestGuardOptions } from './request-guards.ts';
import { extensionOrigins } from './cors.ts';
import { IMPORT_MULTIPART_PATHS } from './routes/imports.ts';

/** The routes that take files (multipart/form-data): the SingleFile upload, the cookie upload and imports. */
export const MULTIPART_PATHS = [/^\/archives\/upload$/, /^\/cookies$/, ...IMPORT_MULTIPART_PATHS];

const list = (v: string | undefined) =>
  (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export interface ApiSecurity {
  authenticate: Authenticator;
  requestGuards: RequestGuardOptions;
  trustProxy: boolean | number | string;
  /** Ends what authentication keeps open (the key cache's LISTEN connection); a server calls it as it stops. */
  close(): Promise<void>;
}

/** `TRUST_PROXY`: unset or `false` trusts nothing; a number is a hop count; anything else is proxy addresses. */
export function trustProxySetting(v: string | undefined): boolean | number | string {
  if (!v || v === 'false') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v;
}

export function apiSecurity(
  config: ApiConfig,
  db: Kysely<Database>,
  opts: {
    mode: 'cloud' | 'single-process';
    firebaseJwksUrl?: string;
    firebaseEmulator?: boolean;
    /** Told when the key cache's revocation listener is lost. */
    logger?: Logger;
  },
): ApiSecurity {
  const allowed = list(config.GOOGLE_ID_TOKEN_ALLOWED_EMAILS);
  const google = config.GOOGLE_ID_TOKEN_AUDIENCE
    ? createGoogleIdTokenVerifier({
        audience: config.GOOGLE_ID_TOKEN_AUDIENCE,
        allowedEmails: allowed.filter((a) => a.includes('@')),
        allowedDomains: allowed.filter((a) => !a.includes('@')),
      })
    : null;
  const firebase = config.FIREBASE_PROJECT_ID
    ? createFirebaseIdTokenVerifier({
        projectId: config.FIREBASE_PROJECT_ID,
        jwksUrl: opts.firebaseJwksUrl,
        emulator: opts.firebaseEmulator,
      })
    : null;
  // On a real Postgres, verified API keys are served from memory while a LISTEN connection hears revocations
  // (shared/auth/key-cache.ts); PGlite (no DATABASE_URL) has no other process to hear from, and reads every time.
  // API_KEY_CACHE=off (a tier without room for the LISTEN connection) reads every time as well.
  const keyCache = config.DATABASE_URL && config.API_KEY_CACHE === 'on' ? createApiKeyCache() : undefined;
  const revocations = keyCache ? listenForRevocations(config.DATABASE_URL!, keyCache, opts.logger) : undefined;
  const authenticate = createAuthenticator({
    db,
    keyCache,
    // The cloud never serves a caller without credentials; the single process only on loopback without keys.
    keysRequired: opts.mode === 'cloud' || config.API_KEYS_REQUIRED,
    google,
    firebase,
    firebaseAllowed: list(config.FIREBASE_ALLOWED_EMAILS),
  });
  const publicOrigin = config.PUBLIC_URL ? new URL(config.PUBLIC_URL).origin : null;
  const requestGuards: RequestGuardOptions = {
    // A cloud function answers on Google's hosts, which Google's front end already checks: no Host list there
    // unless PUBLIC_URL or ALLOWED_HOSTS name one.
    allowedHosts:
      opts.mode === 'cloud' && !config.PUBLIC_URL && !config.ALLOWED_HOSTS
        ? []
        : allowedHostsFor({
            loopback: opts.mode === 'single-process',
            publicUrl: config.PUBLIC_URL,
            extra: list(config.ALLOWED_HOSTS),
          }),
    allowedOrigins: [
      ...(publicOrigin ? [publicOrigin] : []),
      ...list(config.ALLOWED_ORIGINS),
      ...extensionOrigins(list(config.ALLOWED_EXTENSION_IDS)),
    ],
    multipartPaths: MULTIPART_PATHS,
  };
  return {
    authenticate,
    requestGuards,
    trustProxy: trustProxySetting(config.TRUST_PROXY),
    close: async () => revocations?.close(),
  };
}

// What the API is built from (ApiDeps) and what each route module receives (RouteContext).
// A plain object: the entry points (index.ts, the single process) build it, tests pass their own.
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import type { Logger } from '../../shared/core/logger.ts';
import type { BlobStore, Publisher, RateLimiter } from '../../shared/core/ports.ts';
import type { GuardOptions } from '../../shared/net/ssrf.ts';
import type { Authenticator, Principal } from '../../shared/auth/identity.ts';
import type { RequestGuardOptions } from './request-guards.ts';
import type { CookieStore } from '../../shared/cookies/store.ts';
import type { FirebaseWebSettings } from './web/serve.ts';

export type { Principal };

export interface ApiDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  publisher: Publisher;
  logger: Logger;
  guard: GuardOptions;
  config: {
    DEDUP_WINDOW_SECONDS: number;
    MAX_BODY_BYTES: number;
    RATE_LIMIT_PER_MINUTE: number;
    READ_RATE_LIMIT_PER_MINUTE: number;
    SIGNED_URL_TTL_SECONDS: number;
    LEASE_SECONDS: number;
    /** POST /archives/upload: the largest file accepted (413 above); default 50 MiB. */
    UPLOAD_MAX_BYTES?: number;
    /** Largest import file (POST /imports); absent: routes/imports.ts's default. */
    IMPORT_MAX_BYTES?: number;
  };
  /** Resolves the caller to a user before any route runs (throws AuthError): shared/auth/identity.ts. */
  authenticate: Authenticator;
  /** Host, Origin and Content-Type checks; absent: none (tests that drive the app directly). */
  requestGuards?: RequestGuardOptions;
  /** Express's `trust proxy`: off unless TRUST_PROXY names the proxies, so X-Forwarded-For picks nothing. */
  trustProxy?: boolean | number | string;
  rateLimiter?: RateLimiter;
  /** Summary regeneration (functions/summarize); absent when summaries are not wired. */
  summaries?: {
    request(articleId: string, opts: { force: boolean }): Promise<'dispatched' | 'duplicate' | 'unchanged'>;
  };
  /** Logged-in capture: the users' encrypted cookies (shared/cookies); absent: the cookie routes answer 503. */
  cookies?: CookieStore;
  /** The deployable's own fields for /healthz and /readyz (no database call: /healthz is liveness). */
  health?: () => Promise<Record<string, unknown>>;
  /** The web app's Google sign-in (Firebase); absent: the app offers the API key only. */
  firebaseWeb?: FirebaseWebSettings | null;
}

/** The deps plus what createApp derives once: the API's logger and the article-changed announcer's needs. */
export interface RouteContext {
  deps: ApiDeps;
  log: Logger;
  changes: { publisher: Publisher; logger: Logger };
}

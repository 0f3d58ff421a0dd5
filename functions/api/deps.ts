// What the API is built from (ApiDeps) and what each route module receives (RouteContext).
// A plain object: the entry points (index.ts, the single process) build it, tests pass their own.
import type { Request } from 'express';
import type { Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import type { Logger } from '../../shared/core/logger.ts';
import type { BlobStore, Publisher, RateLimiter } from '../../shared/core/ports.ts';
import type { GuardOptions } from '../../shared/net/ssrf.ts';

export interface Principal {
  id: string;
  kind: 'api-key' | 'google' | 'anonymous';
}

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
  };
  /** Resolves the caller from the request; null means unauthenticated. Absent: no auth (embedded, loopback). */
  authenticate?: (req: Request) => Promise<Principal | null>;
  rateLimiter?: RateLimiter;
  /** Summary regeneration (functions/summarize); absent when summaries are not wired. */
  summaries?: {
    request(articleId: string, opts: { force: boolean }): Promise<'dispatched' | 'duplicate' | 'unchanged'>;
  };
  /** Extra readiness checks for /healthz. */
  health?: () => Promise<Record<string, unknown>>;
}

/** The deps plus what createApp derives once: the API's logger and the article-changed announcer's needs. */
export interface RouteContext {
  deps: ApiDeps;
  log: Logger;
  changes: { publisher: Publisher; logger: Logger };
}

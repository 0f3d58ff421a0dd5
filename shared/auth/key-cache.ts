// A short-lived cache of verified API keys, so a busy key costs no database read per request, kept honest by
// Postgres LISTEN/NOTIFY: revokeApiKey notifies, and every API instance drops the key as the notice arrives.
// The cache serves only while its listener is connected; KEY_CACHE_TTL_MS bounds whatever no notice announces.
import pg from 'pg';
import type { VerifiedKey } from './api-keys.ts';
import { silentLogger, type Logger } from '../core/logger.ts';

/** The channel revokeApiKey notifies, with the key's id as payload. */
export const API_KEY_REVOKED_CHANNEL = 'htbase_api_key_revoked';

/**
 * How long a verified key is served from memory. Revocation through revokeApiKey (the CLI, the API) takes effect
 * at once; anything that no notice announces (a row changed by hand in SQL, a user's role, a notice lost on a
 * connection not yet known to be dead) takes effect within this bound.
 */
export const KEY_CACHE_TTL_MS = 5_000;

export interface ApiKeyCache {
  /** The cached key for this hash, if fresh, not expired, and the listener is connected. */
  get(hash: string, nowMs: number): VerifiedKey | undefined;
  /**
   * Caches a key read at `nowMs`; `readEpoch` is `epoch` as it was before the read: when a drop (a revocation
   * notice) or a reconnect came in between, what was read may already be stale and is not cached.
   */
  set(hash: string, key: VerifiedKey, expiresAt: Date | null, nowMs: number, readEpoch?: number): void;
  /** Counts drops and listener changes; a read that spans one does not cache its result. */
  readonly epoch: number;
  /** Drops a key by its id (`ak_…`), as a revocation notice says. */
  dropId(id: string): void;
  /** Serving on (the listener is up) or off (it is not: every verification reads the database). */
  setActive(active: boolean): void;
  readonly active: boolean;
  readonly size: number;
}

interface Entry {
  key: VerifiedKey;
  keyExpiresMs: number;
  cachedUntilMs: number;
}

/** The largest number of keys held; past it the oldest is dropped (a Map keeps insertion order). */
const MAX_ENTRIES = 10_000;

export function createApiKeyCache(opts: { ttlMs?: number } = {}): ApiKeyCache {
  const ttl = opts.ttlMs ?? KEY_CACHE_TTL_MS;
  const byHash = new Map<string, Entry>();
  let active = false;
  let epoch = 0;
  return {
    get(hash, nowMs) {
      if (!active) return undefined;
      const e = byHash.get(hash);
      if (!e) return undefined;
      if (nowMs >= e.cachedUntilMs || nowMs >= e.keyExpiresMs) {
        byHash.delete(hash);
        return undefined;
      }
      return e.key;
    },
    set(hash, key, expiresAt, nowMs, readEpoch) {
      if (!active || (readEpoch !== undefined && readEpoch !== epoch)) return;
      byHash.delete(hash);
      if (byHash.size >= MAX_ENTRIES) byHash.delete(byHash.keys().next().value!);
      byHash.set(hash, {
        key,
        keyExpiresMs: expiresAt ? expiresAt.getTime() : Infinity,
        cachedUntilMs: nowMs + ttl,
      });
    },
    dropId(id) {
      epoch++;
      for (const [hash, e] of byHash) if (e.key.id === id) byHash.delete(hash);
    },
    setActive(on) {
      // Whatever was cached while a notice could have been missed is forgotten.
      if (!on || !active) byHash.clear();
      epoch++;
      active = on;
    },
    get epoch() {
      return epoch;
    },
    get active() {
      return active;
    },
    get size() {
      return byHash.size;
    },
  };
}

export interface RevocationListener {
  /** Resolves once the first LISTEN is in place (or failed: the cache then stays off until a reconnect works). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Keeps one connection LISTENing for revocations and switches the cache on while it is up. A lost connection
 * switches it off at once and is retried with backoff. The socket is unref'd: it never keeps a process alive.
 */
export function listenForRevocations(
  databaseUrl: string,
  cache: ApiKeyCache,
  logger: Logger = silentLogger(),
): RevocationListener {
  const log = logger.child({ component: 'api-key-cache' });
  let client: pg.Client | undefined;
  let closed = false;
  let delay = 500;
  let timer: NodeJS.Timeout | undefined;
  const lost = (c: pg.Client, err?: unknown) => {
    if (client !== c) return;
    cache.setActive(false);
    client = undefined;
    c.end().catch(() => undefined); // already broken: the end is best effort
    if (closed) return;
    log.warn({ err }, 'revocation listener lost; API keys are read from the database until it is back');
    timer = setTimeout(connect, delay);
    timer.unref();
    delay = Math.min(delay * 2, 30_000);
  };
  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: databaseUrl, keepAlive: true });
    client = c;
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    c.on('notification', (n) => {
      if (n.channel === API_KEY_REVOKED_CHANNEL && n.payload) cache.dropId(n.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${API_KEY_REVOKED_CHANNEL}`);
      (c as unknown as { connection: { stream: { unref(): void } } }).connection.stream.unref();
      if (client !== c || closed) return;
      delay = 500;
      cache.setActive(true);
    } catch (err) {
      lost(c, err);
    }
  }
  const ready = connect();
  return {
    ready,
    async close() {
      closed = true;
      clearTimeout(timer);
      cache.setActive(false);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

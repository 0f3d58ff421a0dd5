// API keys for `Authorization: Bearer`: random keys with a recognisable prefix, of which only a
// sha256 hash is stored (table api_keys); created for a user with a scope and an optional expiry, listed and revoked by `htbase apikey ...`.
// Verified keys may be served from a key cache (key-cache.ts) that revocation notifies.
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database, KeyScope, Role } from '../db/types.ts';
import { firstAdmin } from '../db/users.ts';
import { API_KEY_REVOKED_CHANNEL, type ApiKeyCache } from './key-cache.ts';

export const API_KEY_PREFIX = 'htb_';
const KEY_RE = /^htb_[A-Za-z0-9_-]{43}$/;

/** 256 random bits make a salted or slow hash pointless: sha256 is enough to keep the key out of the table. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** True for strings shaped like our keys (so a caller can send other bearer tokens to another verifier). */
export function looksLikeApiKey(token: string): boolean {
  return KEY_RE.test(token);
}

function stripBearer(value: string): string {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(value.trim());
  return m ? m[1] : value.trim();
}

export interface ApiKeyOptions {
  /** The owner; default the first admin (an instance upgraded from before users existed). */
  userId?: string;
  /** `read` keys may only read; `write` keys may also archive, retry, share and delete. Default write. */
  scope?: KeyScope;
  expiresAt?: Date | null;
}

/** What a verified key says about its caller. */
export interface VerifiedKey {
  id: string;
  name: string;
  userId: string;
  /** The owner's role. */
  role: Role;
  scope: KeyScope;
}

/** Last-used times are written at most this often per key, so a busy key does not write on every request. */
const LAST_USED_GRANULARITY_MS = 60_000;

/** Creates a key; the plain key is returned once and never stored. */
export async function createApiKey(
  db: Kysely<Database>,
  name: string,
  opts: ApiKeyOptions = {},
): Promise<{ id: string; key: string; userId: string; scope: KeyScope; expiresAt: Date | null }> {
  const clean = name.trim();
  if (!clean || clean.length > 200) throw new RangeError('an API key name must be 1-200 characters');
  if (opts.expiresAt && opts.expiresAt.getTime() <= Date.now()) throw new RangeError('the expiry is in the past');
  const userId = opts.userId ?? (await firstAdmin(db)).id;
  const scope = opts.scope ?? 'write';
  const id = `ak_${randomBytes(6).toString('hex')}`;
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  await db
    .insertInto('api_keys')
    .values({ id, name: clean, key_hash: hashApiKey(key), user_id: userId, scope, expires_at: opts.expiresAt ?? null })
    .execute();
  return { id, key, userId, scope, expiresAt: opts.expiresAt ?? null };
}

/**
 * Revokes by id (`ak_…`) or by the key itself; false when no active key matched. The same statement notifies
 * API_KEY_REVOKED_CHANNEL (delivered on commit), so every API instance's key cache drops the key at once.
 */
export async function revokeApiKey(db: Kysely<Database>, idOrKey: string): Promise<boolean> {
  const v = stripBearer(idOrKey);
  const rows = await db
    .with('r', (q) =>
      q
        .updateTable('api_keys')
        .set({ revoked_at: new Date() })
        .where(looksLikeApiKey(v) ? 'key_hash' : 'id', '=', looksLikeApiKey(v) ? hashApiKey(v) : v)
        .where('revoked_at', 'is', null)
        .returning('id'),
    )
    .selectFrom('r')
    .select(['r.id', sql<string>`pg_notify(${API_KEY_REVOKED_CHANNEL}, r.id)`.as('notified')])
    .execute();
  return rows.length > 0;
}

/** The live key (not revoked, not expired) for an `Authorization` value (`Bearer htb_…` or the bare key). */
export async function verifyApiKey(
  db: Kysely<Database>,
  bearer: string | null | undefined,
  now = new Date(),
  cache?: ApiKeyCache,
): Promise<VerifiedKey | null> {
  if (!bearer) return null;
  const key = stripBearer(bearer);
  if (!looksLikeApiKey(key)) return null;
  const hash = hashApiKey(key);
  const cached = cache?.get(hash, now.getTime());
  if (cached) return cached;
  const readEpoch = cache?.epoch;
  const row = await db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([
      'api_keys.id',
      'api_keys.name',
      'api_keys.user_id',
      'api_keys.scope',
      'api_keys.last_used_at',
      'api_keys.expires_at',
      'users.role',
    ])
    .where('api_keys.key_hash', '=', hash)
    .where('api_keys.revoked_at', 'is', null)
    .where((eb) => eb.or([eb('api_keys.expires_at', 'is', null), eb('api_keys.expires_at', '>', now)]))
    .executeTakeFirst();
  if (!row) return null;
  if (!row.last_used_at || now.getTime() - new Date(row.last_used_at).getTime() >= LAST_USED_GRANULARITY_MS)
    await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.id).execute();
  const verified: VerifiedKey = { id: row.id, name: row.name, userId: row.user_id, role: row.role, scope: row.scope };
  // Only what was read here is cached (never a refusal): an unknown key costs a read each time, as before.
  cache?.set(hash, verified, row.expires_at ? new Date(row.expires_at) : null, now.getTime(), readEpoch);
  return verified;
}

export interface ApiKeyListing {
  id: string;
  name: string;
  userId: string;
  userName: string;
  scope: KeyScope;
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

export async function listApiKeys(db: Kysely<Database>, opts: { userId?: string } = {}): Promise<ApiKeyListing[]> {
  let q = db
    .selectFrom('api_keys')
    .innerJoin('users', 'users.id', 'api_keys.user_id')
    .select([
      'api_keys.id',
      'api_keys.name',
      'api_keys.user_id',
      'users.name as user_name',
      'api_keys.scope',
      'api_keys.created_at',
      'api_keys.expires_at',
      'api_keys.last_used_at',
      'api_keys.revoked_at',
    ])
    .orderBy('api_keys.created_at');
  if (opts.userId) q = q.where('api_keys.user_id', '=', opts.userId);
  const rows = await q.execute();
  const date = (d: Date | string | null) => (d ? new Date(d) : null);
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    userId: r.user_id,
    userName: r.user_name,
    scope: r.scope,
    createdAt: new Date(r.created_at),
    expiresAt: date(r.expires_at),
    lastUsedAt: date(r.last_used_at),
    revokedAt: date(r.revoked_at),
  }));
}

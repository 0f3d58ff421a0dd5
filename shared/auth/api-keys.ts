// API keys for `Authorization: Bearer`: random keys with a recognisable prefix, of which only a
// sha256 hash is stored (table api_keys); created, listed and revoked by `npx htbase apikey ...`.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/types.ts';

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

/** Creates a key; the plain key is returned once and never stored. */
export async function createApiKey(db: Kysely<Database>, name: string): Promise<{ id: string; key: string }> {
  const clean = name.trim();
  if (!clean || clean.length > 200) throw new RangeError('an API key name must be 1-200 characters');
  const id = `ak_${randomBytes(6).toString('hex')}`;
  const key = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  await db
    .insertInto('api_keys')
    .values({ id, name: clean, key_hash: hashApiKey(key) })
    .execute();
  return { id, key };
}

/** Revokes by id (`ak_…`) or by the key itself; false when no active key matched. */
export async function revokeApiKey(db: Kysely<Database>, idOrKey: string): Promise<boolean> {
  const v = stripBearer(idOrKey);
  const res = await db
    .updateTable('api_keys')
    .set({ revoked_at: new Date() })
    .where(looksLikeApiKey(v) ? 'key_hash' : 'id', '=', looksLikeApiKey(v) ? hashApiKey(v) : v)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

/** The active key's id and name for an `Authorization` value (`Bearer htb_…` or the bare key), else null. */
export async function verifyApiKey(
  db: Kysely<Database>,
  bearer: string | null | undefined,
): Promise<{ id: string; name: string } | null> {
  if (!bearer) return null;
  const key = stripBearer(bearer);
  if (!looksLikeApiKey(key)) return null;
  const row = await db
    .selectFrom('api_keys')
    .select(['id', 'name'])
    .where('key_hash', '=', hashApiKey(key))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row ?? null;
}

export async function listApiKeys(
  db: Kysely<Database>,
): Promise<Array<{ id: string; name: string; createdAt: Date; revokedAt: Date | null }>> {
  const rows = await db
    .selectFrom('api_keys')
    .select(['id', 'name', 'created_at', 'revoked_at'])
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    name: r.name,
    createdAt: new Date(r.created_at),
    revokedAt: r.revoked_at ? new Date(r.revoked_at) : null,
  }));
}

// Share links: a revocable, read-only link to one archive. The token is shown once; only its sha256 is stored.
import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from './types.ts';

const TOKEN_RE = /^hts_[A-Za-z0-9_-]{43}$/;

const hashToken = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export async function createShareLink(
  db: Kysely<Database>,
  articleId: string,
  ownerId: string,
): Promise<{ id: string; token: string; createdAt: Date }> {
  const token = `hts_${randomBytes(32).toString('base64url')}`;
  const id = `sl_${randomBytes(6).toString('hex')}`;
  const row = await db
    .insertInto('share_links')
    .values({ id, token_hash: hashToken(token), article_id: articleId, owner_id: ownerId })
    .returning(['created_at'])
    .executeTakeFirstOrThrow();
  return { id, token, createdAt: new Date(row.created_at) };
}

/** The archive a live token opens, or null (unknown, malformed or revoked token). */
export async function resolveShareLink(
  db: Kysely<Database>,
  token: string,
): Promise<{ articleId: string; ownerId: string } | null> {
  if (!TOKEN_RE.test(token)) return null;
  const row = await db
    .selectFrom('share_links')
    .select(['article_id', 'owner_id'])
    .where('token_hash', '=', hashToken(token))
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return row ? { articleId: row.article_id, ownerId: row.owner_id } : null;
}

/** Revokes one link of one archive, by its token or its id; false when nothing live matched. */
export async function revokeShareLink(db: Kysely<Database>, articleId: string, tokenOrId: string): Promise<boolean> {
  const byToken = TOKEN_RE.test(tokenOrId);
  const res = await db
    .updateTable('share_links')
    .set({ revoked_at: new Date() })
    .where('article_id', '=', articleId)
    .where(byToken ? 'token_hash' : 'id', '=', byToken ? hashToken(tokenOrId) : tokenOrId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function listShareLinks(
  db: Kysely<Database>,
  articleId: string,
): Promise<Array<{ id: string; createdAt: Date }>> {
  const rows = await db
    .selectFrom('share_links')
    .select(['id', 'created_at'])
    .where('article_id', '=', articleId)
    .where('revoked_at', 'is', null)
    .orderBy('created_at')
    .execute();
  return rows.map((r) => ({ id: r.id, createdAt: new Date(r.created_at) }));
}

// Turning request input into domain values, with the problem each bad input answers: format lists,
// zod failures, and archive ids (an unknown or malformed id is a 404, never a 400).
import type { Request } from 'express';
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../../shared/db/types.ts';
import { findOwnedArticle, type ArticleView } from '../../shared/db/articles.ts';
import { findUserByRef } from '../../shared/db/users.ts';
import type { Principal } from '../../shared/auth/identity.ts';
import { FORMATS, isFormat, type Format } from '../../shared/core/formats.ts';
import { Problem } from '../../shared/core/errors.ts';
import { badRequest, notFound, problemType } from './problems.ts';
import { ArchiveId } from './schemas.ts';

export function parseFormats(raw: string[] | undefined): Format[] {
  if (!raw) return [...FORMATS];
  const unknown = raw.filter((f) => !isFormat(f));
  if (unknown.length)
    throw badRequest(
      'unknown-format',
      `unknown format ${unknown.map((u) => JSON.stringify(u)).join(', ')}; known: ${FORMATS.join(', ')}`,
    );
  return [...new Set(raw as Format[])];
}

export function zodProblem(err: z.ZodError, slug = 'invalid-request'): Problem {
  const issue = err.issues[0]!;
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  return badRequest(slug, `${where}${issue.message}`);
}

/**
 * Whose archives a request is about: the caller's own, or, for an admin only, the user an explicit `?owner=`
 * (a user name or id) names. Nobody reaches another user's archive any other way.
 */
export async function ownerScope(db: Kysely<Database>, req: Request, caller: Principal): Promise<string> {
  const ref = typeof req.query.owner === 'string' ? req.query.owner.trim() : '';
  if (!ref) return caller.userId;
  const user = await findUserByRef(db, ref);
  if (user?.id === caller.userId) return caller.userId;
  if (caller.role !== 'admin')
    throw new Problem(403, problemType('owner-filter-admin-only'), 'Forbidden', 'only an admin may name another owner');
  if (!user) throw badRequest('unknown-owner', `no user ${JSON.stringify(ref)}`);
  return user.id;
}

/** The archive `id` of `ownerId`: another owner's archive answers 404 like a missing one (ids are no oracle). */
export async function loadArticle(db: Kysely<Database>, id: string, ownerId: string): Promise<ArticleView> {
  if (!ArchiveId.safeParse(id).success) throw notFound();
  const a = await findOwnedArticle(db, id, ownerId);
  if (!a) throw notFound();
  return a;
}

// Turning request input into domain values, with the problem each bad input answers: format lists,
// zod failures, and archive ids (an unknown or malformed id is a 404, never a 400).
import type { Kysely } from 'kysely';
import type { z } from 'zod';
import type { Database } from '../../shared/db/types.ts';
import { findArticle } from '../../shared/db/articles.ts';
import { FORMATS, isFormat, type Format } from '../../shared/core/formats.ts';
import type { Problem } from '../../shared/core/errors.ts';
import { badRequest, notFound } from './problems.ts';
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

export async function loadArticle(db: Kysely<Database>, id: string) {
  if (!ArchiveId.safeParse(id).success) throw notFound();
  const a = await findArticle(db, id);
  if (!a) throw notFound();
  return a;
}

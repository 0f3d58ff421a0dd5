// GET /archives (list, filters and search, newest first, keyset cursor), GET /archives/{id} (the archive view),
// PATCH /archives/{id} (the owner's tags and note) and DELETE /archives/{id} (rows, bytes, then the tombstone).
import type { Router } from 'express';
import { deleteArticle, listArticles, updateArticleNotes, withThumbnail } from '../../../shared/db/articles.ts';
import type { ListCursor } from '../../../shared/db/search.ts';
import { listArtifacts } from '../../../shared/db/artifacts.ts';
import { findSummary } from '../../../shared/db/summaries.ts';
import { parseTargetUrl } from '../../../shared/net/ssrf.ts';
import { normalizeUrl } from '../../../shared/core/url.ts';
import { announceChange } from '../../../shared/jobs/article-changed.ts';
import type { RouteContext } from '../deps.ts';
import { bodyParsers, principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { badRequest } from '../problems.ts';
import { loadArticle, ownerScope, zodProblem } from '../requests.ts';
import { articleJson, articleListItem } from '../serialize.ts';
import {
  ArchiveId,
  ArchiveList,
  ArchivePath,
  ArchiveView,
  ListQuery,
  NotesBody,
  type ArchiveListJson,
  OwnerQuery,
} from '../schemas.ts';

const notFound = problem('No such archive (or the id is not one)');

export const archiveOperations: Operation[] = [
  {
    method: 'get',
    path: '/archives',
    summary: 'List archives newest first, or search them (q: ranked full text with snippets, sort: relevance or date)',
    params: { query: ListQuery },
    responses: {
      200: { description: 'One page of archives', json: ArchiveList },
      400: problem('Bad query: invalid parameter, URL or cursor'),
    },
  },
  {
    method: 'get',
    path: '/archives/{id}',
    summary: 'Status of an archive: its artifacts, summary and links',
    params: { path: ArchivePath, query: OwnerQuery },
    responses: {
      200: {
        description: 'The archive',
        json: ArchiveView,
        headers: { ETag: { description: 'The archive version, "v{version}"', required: true } },
      },
      404: notFound,
    },
  },
  {
    method: 'patch',
    path: '/archives/{id}',
    summary: "Edit an archive's tags (they replace the summary's from then on) and its note",
    params: { path: ArchivePath, query: OwnerQuery },
    body: { schema: NotesBody, required: true },
    responses: {
      200: { description: 'The archive as edited', json: ArchiveView },
      400: problem('Bad body: malformed JSON, unknown field, too many or too long tags, note too long'),
      404: notFound,
    },
  },
  {
    method: 'delete',
    path: '/archives/{id}',
    summary: 'Delete an archive and its artifacts',
    params: { path: ArchivePath, query: OwnerQuery },
    responses: { 204: { description: 'Deleted' }, 404: notFound },
  },
];

/** A cursor names its order: `d` pages newest first on (created_at, id), `r` by relevance on (rank, id). */
function encodeCursor(a: { created_at: Date | string; id: string; rank?: number }, sort: 'date' | 'relevance'): string {
  const key = sort === 'relevance' ? ['r', a.rank ?? 0, a.id] : ['d', new Date(a.created_at).toISOString(), a.id];
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}
function decodeCursor(c: string): { cursor: ListCursor; sort: 'date' | 'relevance' } {
  try {
    const [kind, k, id] = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as [string, unknown, string];
    if (!ArchiveId.safeParse(id).success) throw new Error('bad id');
    if (kind === 'r' && typeof k === 'number' && Number.isFinite(k))
      return { cursor: { rank: k, id }, sort: 'relevance' };
    const createdAt = new Date(String(k));
    if (kind !== 'd' || Number.isNaN(createdAt.getTime())) throw new Error('bad key');
    return { cursor: { createdAt, id }, sort: 'date' };
  } catch {
    throw badRequest('invalid-cursor', 'the cursor is not one this API returned');
  }
}

/** `from`/`to` as instants: a bare day is the whole day in UTC, so `to=2026-12-01` includes that day. */
function dateRange(from?: string, to?: string): { from?: Date; to?: Date } {
  const day = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s);
  const f = from ? new Date(day(from) ? `${from}T00:00:00Z` : from) : undefined;
  let t = to ? new Date(day(to) ? `${to}T00:00:00Z` : to) : undefined;
  if (t && to && day(to)) t = new Date(t.getTime() + 86_400_000);
  if (f && t && f >= t) throw badRequest('invalid-request', 'from must be before to');
  return { ...(f ? { from: f } : {}), ...(t ? { to: t } : {}) };
}

/** Tags as the owner typed them, trimmed, without repeats (case-insensitively), in their order. */
function cleanTags(tags: string[]): string[] {
  const seen = new Set<string>();
  return tags.filter((t) => !seen.has(t.toLowerCase()) && seen.add(t.toLowerCase()));
}

export function archiveRoutes(app: Router, ctx: RouteContext): void {
  const { db } = ctx.deps;
  const { json } = bodyParsers(ctx.deps);
  app.get(
    '/archives',
    route(async (req, res) => {
      const q = ListQuery.safeParse(req.query);
      if (!q.success) throw zodProblem(q.error);
      let urlFilter: string | undefined;
      if (q.data.url) {
        try {
          urlFilter = normalizeUrl(parseTargetUrl(q.data.url));
        } catch {
          throw badRequest('invalid-url', 'url must be an absolute http(s) URL');
        }
      }
      const q_ = q.data.q?.trim() || undefined;
      const after = q.data.cursor ? decodeCursor(q.data.cursor) : undefined;
      const sort = q_ ? (q.data.sort ?? after?.sort ?? 'relevance') : 'date';
      if (after && after.sort !== sort) throw badRequest('invalid-cursor', `this cursor pages in ${after.sort} order`);
      const rows = await listArticles(db, {
        ownerId: await ownerScope(db, req, principalOf(res)),
        q: q_,
        sort: q_ ? sort : undefined,
        url: urlFilter,
        status: q.data.status,
        tag: q.data.tag,
        site: q.data.site,
        ...dateRange(q.data.from, q.data.to),
        cursor: after?.cursor,
        limit: q.data.limit + 1,
      });
      const page = rows.slice(0, q.data.limit);
      const thumbs = await withThumbnail(
        db,
        page.map((a) => a.id),
      );
      const answer: ArchiveListJson = {
        items: page.map((a) => articleListItem('', a, thumbs.has(a.id))),
        nextCursor: rows.length > q.data.limit ? encodeCursor(page[page.length - 1]!, sort) : null,
      };
      res.json(answer);
    }),
  );

  app.get(
    '/archives/:id',
    route(async (req, res) => {
      const a = await loadArticle(db, req.params.id as string, await ownerScope(db, req, principalOf(res)));
      const [artifacts, summary] = await Promise.all([listArtifacts(db, a.id), findSummary(db, a.id)]);
      res.setHeader('ETag', `"v${a.version}"`);
      res.json(articleJson('', a, artifacts, summary));
    }),
  );

  app.patch(
    '/archives/:id',
    json,
    route(async (req, res) => {
      const owner = await ownerScope(db, req, principalOf(res));
      const a = await loadArticle(db, req.params.id as string, owner);
      const body = NotesBody.safeParse(req.body);
      if (!body.success) throw zodProblem(body.error);
      const { tags, note } = body.data;
      const t = await updateArticleNotes(db, a.id, {
        ...(tags !== undefined ? { tags: cleanTags(tags) } : {}),
        // An empty note is no note.
        ...(note !== undefined ? { note: note?.trim() ? note : null } : {}),
      });
      if (t) await announceChange(ctx.changes, { articleId: a.id, version: t.version });
      const edited = await loadArticle(db, a.id, owner);
      const [artifacts, summary] = await Promise.all([listArtifacts(db, a.id), findSummary(db, a.id)]);
      ctx.log.info({ articleId: a.id, tags: tags?.length, note: note !== undefined }, 'archive edited');
      res.setHeader('ETag', `"v${edited.version}"`);
      res.json(articleJson('', edited, artifacts, summary));
    }),
  );

  app.delete(
    '/archives/:id',
    route(async (req, res) => {
      const a = await loadArticle(db, req.params.id as string, await ownerScope(db, req, principalOf(res)));
      await deleteArticle(db, a.id);
      await ctx.deps.blobs.deletePrefix(`articles/${a.id}/`);
      await announceChange(ctx.changes, { articleId: a.id, version: Number(a.version) + 1, deleted: true });
      ctx.log.info({ articleId: a.id }, 'archive deleted');
      res.status(204).end();
    }),
  );
}

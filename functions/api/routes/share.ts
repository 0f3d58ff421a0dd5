// Share links: POST /archives/{id}/share makes a revocable, read-only link to one archive (an unguessable
// token, shown once), DELETE /archives/{id}/share/{token} revokes it, and /shared/{token} opens the archive
// and its files with no account. The public half is mounted before admission; it reads nothing else.
import type { Response, Router } from 'express';
import { findArticle } from '../../../shared/db/articles.ts';
import { listArtifacts } from '../../../shared/db/artifacts.ts';
import { findSummary } from '../../../shared/db/summaries.ts';
import { createShareLink, resolveShareLink, revokeShareLink } from '../../../shared/db/share-links.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route, withinLimit } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { notFound } from '../problems.ts';
import { loadArticle, ownerScope } from '../requests.ts';
import { articleJson } from '../serialize.ts';
import {
  ArchivePath,
  OwnerQuery,
  ShareAnswer,
  SharedArchive,
  SharedArtifactPath,
  SharedPath,
  SharePath,
  type ShareAnswerJson,
  type SharedArchiveJson,
} from '../schemas.ts';
import { artifactReplies, sendArtifact } from './artifacts.ts';

const gone = problem('No such link: unknown, revoked, or its archive was deleted');
const limited = {
  ...problem('Rate limited: each shared archive has a read budget of its own a minute'),
  headers: { 'Retry-After': { description: 'Seconds until the budget refills', required: true } },
};

export const shareOperations: Operation[] = [
  {
    method: 'post',
    path: '/archives/{id}/share',
    summary: 'Create a read-only share link to this archive (its token is shown once)',
    params: { path: ArchivePath, query: OwnerQuery },
    responses: { 201: { description: 'The link', json: ShareAnswer }, 404: problem('No such archive') },
  },
  {
    method: 'delete',
    path: '/archives/{id}/share/{token}',
    summary: 'Revoke a share link (by its token or its id)',
    params: { path: SharePath, query: OwnerQuery },
    responses: { 204: { description: 'Revoked' }, 404: problem('No such archive, or no live link of it') },
  },
  {
    method: 'get',
    path: '/shared/{token}',
    summary: 'The archive a share link opens (no account needed)',
    public: true,
    params: { path: SharedPath },
    responses: { 200: { description: 'The archive, read-only', json: SharedArchive }, 404: gone, 429: limited },
  },
  {
    method: 'get',
    path: '/shared/{token}/artifacts/{format}',
    summary: 'One file of a shared archive (no account needed)',
    public: true,
    params: { path: SharedArtifactPath },
    responses: { ...artifactReplies('No such link, or the archive has no artifact of this format'), 429: limited },
  },
];

/** The routes anyone may call: a token is the whole credential. */
export function sharedRoutes(app: Router, ctx: RouteContext): void {
  const { db } = ctx.deps;
  const open = async (token: string, res: Response) => {
    const link = await resolveShareLink(db, token);
    // Anyone holding a link may read through it, but not without bound: each shared archive has the read budget
    // of one user a minute (READ_RATE_LIMIT_PER_MINUTE), its own, so visitors never spend the owner's.
    if (link)
      await withinLimit(
        ctx.deps,
        res,
        `api:r:shared:${link.articleId}`,
        ctx.deps.config.READ_RATE_LIMIT_PER_MINUTE,
        'reads of a shared archive',
      );
    const a = link && (await findArticle(db, link.articleId));
    if (!a || a.owner_id !== link.ownerId) throw notFound('no such link');
    return a;
  };
  app.get(
    '/shared/:token',
    route(async (req, res) => {
      const token = req.params.token as string;
      const a = await open(token, res);
      const [artifacts, summary] = await Promise.all([listArtifacts(db, a.id), findSummary(db, a.id)]);
      const { links: _owned, ...view } = articleJson('', a, artifacts, summary);
      const self = `/shared/${token}`;
      const answer: SharedArchiveJson = {
        ...view,
        note: null, // the owner's note is theirs: a share link shows the archive, not what they wrote about it
        links: {
          self,
          artifacts: Object.fromEntries(artifacts.map((x) => [x.format, `${self}/artifacts/${x.format}`])),
        },
      };
      res.setHeader('Cache-Control', 'private, no-store');
      res.json(answer);
    }),
  );
  app.get(
    '/shared/:token/artifacts/:format',
    route(async (req, res) => {
      const a = await open(req.params.token as string, res);
      await sendArtifact(ctx, req, res, a);
    }),
  );
}

/** The owner's half: create and revoke. */
export function shareRoutes(app: Router, ctx: RouteContext): void {
  const { db } = ctx.deps;
  app.post(
    '/archives/:id/share',
    route(async (req, res) => {
      const a = await loadArticle(db, req.params.id as string, await ownerScope(db, req, principalOf(res)));
      const link = await createShareLink(db, a.id, a.owner_id);
      ctx.log.info({ articleId: a.id, shareId: link.id }, 'share link created');
      const answer: ShareAnswerJson = {
        id: link.id,
        archiveId: a.id,
        token: link.token,
        url: `/shared/${link.token}`,
        createdAt: link.createdAt.toISOString(),
      };
      res.status(201).json(answer);
    }),
  );
  app.delete(
    '/archives/:id/share/:token',
    route(async (req, res) => {
      const a = await loadArticle(db, req.params.id as string, await ownerScope(db, req, principalOf(res)));
      if (!(await revokeShareLink(db, a.id, req.params.token as string)))
        throw notFound('no live link of this archive');
      ctx.log.info({ articleId: a.id }, 'share link revoked');
      res.status(204).end();
    }),
  );
}

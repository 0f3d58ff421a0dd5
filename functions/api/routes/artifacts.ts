// GET /archives/{id}/artifacts/{format}: the stored bytes, as a signed URL redirect when the store signs
// (Cloud Storage) or streamed otherwise, sandboxed so archived markup never runs against our origin.
import { pipeline } from 'node:stream/promises';
import type { Request, Response, Router } from 'express';
import type { ArticleView } from '../../../shared/db/articles.ts';
import { findArtifact } from '../../../shared/db/artifacts.ts';
import { FORMAT_FILES, extensionFor } from '../../../shared/core/formats.ts';
import { Problem } from '../../../shared/core/errors.ts';
import { NotFoundError } from '../../../shared/core/ports.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { badRequest, notFound, problemType } from '../problems.ts';
import { loadArticle, ownerScope } from '../requests.ts';
import { ArtifactFormat, ArtifactNotReadyProblem, ArtifactPath, OwnerQuery } from '../schemas.ts';

// Archived HTML is untrusted third-party markup: never let it run against our origin.
const SANDBOX =
  "sandbox; default-src 'none'; img-src data: blob:; style-src 'unsafe-inline' data:; font-src data:; media-src data: blob:";

/** The answers of a download, wherever it is served from (the owner's route, a share link's). */
export function artifactReplies(notFoundText: string): Operation['responses'] {
  return {
    200: {
      description: 'The bytes, with the content type they were stored with',
      bytes: true,
      headers: {
        'Content-Disposition': { description: 'inline, with a download name', required: true },
        'Content-Security-Policy': { description: 'A sandbox: archived markup never runs', required: true },
        ETag: { description: 'The sha256 of the bytes' },
      },
    },
    302: {
      description: 'A short-lived signed URL of the bytes',
      headers: { Location: { description: 'The signed URL', required: true } },
    },
    400: problem('Unknown format'),
    404: problem(notFoundText),
    409: problem('The artifact is not (yet) available: see artifactStatus and errorCode', ArtifactNotReadyProblem),
    410: problem('The artifact bytes are missing from storage'),
  };
}

export const artifactOperations: Operation[] = [
  {
    method: 'get',
    path: '/archives/{id}/artifacts/{format}',
    summary: 'Download an artifact (a signed URL redirect in the cloud, a stream locally)',
    params: { path: ArtifactPath, query: OwnerQuery },
    responses: artifactReplies('No such archive, or it has no artifact of this format'),
  },
];

export function artifactRoutes(app: Router, ctx: RouteContext): void {
  const { db } = ctx.deps;
  app.get(
    '/archives/:id/artifacts/:format',
    route(async (req, res) => {
      const a = await loadArticle(db, req.params.id as string, await ownerScope(db, req, principalOf(res)));
      await sendArtifact(ctx, req, res, a);
    }),
  );
}

/** Answers one artifact of an archive the caller may read (its owner, or a share link's holder). */
export async function sendArtifact(
  ctx: RouteContext,
  req: Request,
  res: Response,
  a: Pick<ArticleView, 'id'>,
): Promise<void> {
  const { db, blobs, config } = ctx.deps;
  const parsed = ArtifactFormat.safeParse(req.params.format);
  if (!parsed.success) throw badRequest('unknown-format', `unknown format ${JSON.stringify(req.params.format)}`);
  const format = parsed.data;
  const art = await findArtifact(db, a.id, format);
  if (!art) throw notFound(`this archive has no ${format} artifact`);
  if (art.status !== 'succeeded' || !art.storage_key) {
    throw new Problem(
      409,
      problemType('artifact-not-ready'),
      'Artifact not available',
      `the ${format} artifact is ${art.status}`,
      {
        artifactStatus: art.status,
        errorCode: art.error_code,
      },
    );
  }
  const filename = `${a.id}-${FORMAT_FILES[format].file}${format === 'original' ? extensionFor(art.content_type) : ''}`;
  if (blobs.signedUrl) {
    const url = await blobs.signedUrl(art.storage_key, {
      expiresInSeconds: config.SIGNED_URL_TTL_SECONDS,
      downloadName: filename,
    });
    res.redirect(302, url);
    return;
  }
  let stream;
  try {
    stream = await blobs.get(art.storage_key);
  } catch (err) {
    if (err instanceof NotFoundError)
      throw new Problem(410, problemType('artifact-gone'), 'Gone', 'the artifact bytes are missing from storage');
    throw err;
  }
  res.setHeader('Content-Type', art.content_type ?? FORMAT_FILES[format].contentType);
  if (art.size_bytes !== null) res.setHeader('Content-Length', String(art.size_bytes));
  if (art.sha256) res.setHeader('ETag', `"${art.sha256}"`);
  res.setHeader('Content-Disposition', `inline; filename="${filename}"`);
  res.setHeader('Content-Security-Policy', SANDBOX);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (req.method === 'HEAD') {
    stream.destroy();
    res.end();
    return;
  }
  await pipeline(stream, res);
}

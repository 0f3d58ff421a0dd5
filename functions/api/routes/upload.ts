// POST /archives/upload: a page the person saved in their own browser with SingleFile (its "upload to a REST form
// API" destination: multipart `file` then `url`, Bearer auth). The file becomes the singlefile artifact; the
// browser worker renders it OFFLINE into PDF, screenshot and readable text (shared/db/uploads.ts marks it).
import { randomUUID } from 'node:crypto';
import type { Router } from 'express';
import { createArticle } from '../../../shared/db/articles.ts';
import { markSucceeded } from '../../../shared/db/artifacts.ts';
import { markUploaded } from '../../../shared/db/uploads.ts';
import { BROWSER_FORMATS, FORMAT_FILES, storageKey, type Format } from '../../../shared/core/formats.ts';
import { normalizeUrl } from '../../../shared/core/url.ts';
import { publishJobs } from '../../../shared/jobs/publish.ts';
import { announceChange } from '../../../shared/jobs/article-changed.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { badRequest } from '../problems.ts';
import { readMultipart } from '../multipart.ts';
import { links } from '../serialize.ts';
import { SubmitAnswer, type SubmitAnswerJson } from '../schemas.ts';
import { targetUrl } from './submit.ts';

export const UPLOAD_PATH = /^\/archives\/upload$/;
export const DEFAULT_UPLOAD_MAX_BYTES = 50 * 1024 * 1024;
/** What an upload yields: the file itself, and what the browser worker renders from it. */
const DERIVED: Format[] = BROWSER_FORMATS.filter((f) => f !== 'singlefile');

export const uploadOperations: Operation[] = [
  {
    method: 'post',
    path: '/archives/upload',
    summary:
      'Archive a page saved by SingleFile in your browser (multipart/form-data: `file` = the HTML, `url` = its address)',
    responses: {
      201: { description: 'Stored; PDF, screenshot and readable text are rendered from the file', json: SubmitAnswer },
      400: problem('Bad input: no file or url, a blocked or non-http(s) URL, a file that is not HTML'),
      413: problem('The file is over the upload limit (the limit is in the message)'),
      415: problem('The body is not multipart/form-data'),
    },
  },
];

/** A saved page is text: NUL bytes in its first 8 KiB mean a binary file was sent by mistake. */
function looksLikeHtml(data: Buffer): boolean {
  if (data.length === 0) return false;
  return !data.subarray(0, 8192).includes(0);
}

export function uploadRoutes(app: Router, ctx: RouteContext): void {
  const { deps, log } = ctx;
  const maxBytes = deps.config.UPLOAD_MAX_BYTES ?? DEFAULT_UPLOAD_MAX_BYTES;
  app.post(
    '/archives/upload',
    route(async (req, res) => {
      const form = await readMultipart(req, { fileField: 'file', maxFileBytes: maxBytes });
      const rawUrl = form.fields.url?.trim();
      if (!rawUrl) throw badRequest('missing-url', 'the form needs a `url` field: the address of the saved page');
      if (!form.file) throw badRequest('missing-file', 'the form needs a `file` field: the page saved by SingleFile');
      if (!looksLikeHtml(form.file.data))
        throw badRequest('not-html', 'the file is empty or binary; upload the HTML page SingleFile saved');
      // Guarded like a submitted URL (scheme, blocked names and addresses), although it is never fetched.
      const url = await targetUrl(ctx, rawUrl);
      const caller = principalOf(res);
      const id = randomUUID();
      // The bytes first: a row never points at a file that is not there; a failed insert removes them.
      const stored = await deps.blobs.put(storageKey(id, 'singlefile'), form.file.data, {
        contentType: FORMAT_FILES.singlefile.contentType,
        metadata: { articleId: id, format: 'singlefile' },
        maxBytes,
      });
      let created;
      try {
        created = await createArticle(deps.db, {
          id,
          ownerId: caller.userId,
          url: url.href,
          normalizedUrl: normalizeUrl(url),
          formats: [...BROWSER_FORMATS],
          // Every upload is a snapshot of its own: what the person saw is not what a recent capture saw.
          force: true,
          dedupWindowSeconds: 0,
          leaseSeconds: deps.config.LEASE_SECONDS,
        });
        if (created.kind !== 'created') throw new Error(`upload insert answered ${created.kind}`);
        await markUploaded(deps.db, id, stored.size);
      } catch (err) {
        await deps.blobs.deletePrefix(`articles/${id}/`).catch((e) => log.warn({ err: e }, 'upload cleanup failed'));
        throw err;
      }
      const t = await markSucceeded(deps.db, id, 'singlefile', {
        storageKey: stored.key,
        contentType: stored.contentType,
        sizeBytes: stored.size,
        sha256: stored.sha256,
        engineVersion: 'upload',
      });
      const errors = await publishJobs(deps.publisher, id, url.href, DERIVED, 'submit');
      if (errors.length)
        log.error({ articleId: id, err: errors[0] }, 'render publish failed; the sweeper will republish');
      await announceChange(ctx.changes, { articleId: id, version: Number(t?.version ?? created.article.version) });
      log.info({ articleId: id, url: url.href, sizeBytes: stored.size, userId: caller.userId }, 'page uploaded');
      const answer: SubmitAnswerJson = {
        id,
        url: url.href,
        status: t?.status ?? created.article.status,
        deduplicated: false,
        links: links('', { id }, [...BROWSER_FORMATS]),
      };
      res.status(201).setHeader('Location', `/archives/${id}`);
      res.json(answer);
    }),
  );
}

// Logged-in capture, the person's side: POST /cookies (a cookies.txt or JSON export, multipart `file`) replaces
// the stored cookies of each site it holds; GET /cookies lists sites (never values); DELETE /cookies/{domain}.
import type { Router } from 'express';
import { Problem } from '../../../shared/core/errors.ts';
import { parseCookieFile } from '../../../shared/cookies/parse.ts';
import type { CookieSite, CookieStore } from '../../../shared/cookies/store.ts';
import { CookieInputError } from '../../../shared/cookies/types.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { badRequest, notFound, problemType } from '../problems.ts';
import { readMultipart } from '../multipart.ts';
import { CookieDomainPath, CookieSites, CookieUploadAnswer, type CookieSiteJson } from '../schemas.ts';

const MAX_COOKIE_FILE_BYTES = 1024 * 1024;

export const cookieOperations: Operation[] = [
  {
    method: 'post',
    path: '/cookies',
    summary:
      'Store cookies for logged-in capture (multipart/form-data `file`: Netscape cookies.txt or a JSON export); replaces the sites it holds',
    responses: {
      200: { description: 'Stored (encrypted); the sites you now have cookies for', json: CookieUploadAnswer },
      400: problem('Not a cookie file, or no usable cookie in it (the first problem is named)'),
      413: problem('The file is over the limit (the limit is in the message)'),
      415: problem('The body is not multipart/form-data'),
      503: problem('Logged-in capture is not configured on this server (no cookie key)'),
    },
  },
  {
    method: 'get',
    path: '/cookies',
    summary: 'The sites you have cookies for: domains, counts and expiry, never the values',
    responses: { 200: { description: 'Your sites', json: CookieSites }, 503: problem('No cookie key configured') },
  },
  {
    method: 'delete',
    path: '/cookies/{domain}',
    summary: "Forget a site's cookies",
    params: { path: CookieDomainPath },
    responses: {
      204: { description: 'Deleted' },
      404: problem('No cookies stored for that domain'),
      503: problem('No cookie key configured'),
    },
  },
];

const siteJson = (s: CookieSite): CookieSiteJson => ({
  domain: s.domain,
  cookies: s.cookies,
  expiresAt: s.expiresAt ? s.expiresAt.toISOString() : null,
  updatedAt: s.updatedAt.toISOString(),
});

function storeOf(ctx: RouteContext): CookieStore {
  if (!ctx.deps.cookies)
    throw new Problem(
      503,
      problemType('cookies-unavailable'),
      'Unavailable',
      'logged-in capture is not configured on this server (set COOKIE_ENCRYPTION_KEY)',
    );
  return ctx.deps.cookies;
}

export function cookieRoutes(app: Router, ctx: RouteContext): void {
  app.post(
    '/cookies',
    route(async (req, res) => {
      const store = storeOf(ctx);
      const form = await readMultipart(req, { fileField: 'file', maxFileBytes: MAX_COOKIE_FILE_BYTES });
      if (!form.file) throw badRequest('missing-file', 'the form needs a `file` field: a cookies.txt or JSON export');
      let parsed;
      try {
        parsed = parseCookieFile(form.file.data.toString('utf8'));
      } catch (err) {
        if (err instanceof CookieInputError) throw badRequest('invalid-cookie-file', err.message);
        throw err;
      }
      const userId = principalOf(res).userId;
      const replaced = await store.replace(userId, parsed.cookies);
      // The domains and counts only: a value is a password, and never goes into a log line.
      ctx.log.info({ userId, domains: replaced, cookieCount: parsed.cookies.length }, 'cookies stored');
      res.json({ sites: (await store.list(userId)).map(siteJson), replaced, rejected: parsed.rejected });
    }),
  );
  app.get(
    '/cookies',
    route(async (_req, res) => {
      res.json({ sites: (await storeOf(ctx).list(principalOf(res).userId)).map(siteJson) });
    }),
  );
  app.delete(
    '/cookies/:domain',
    route(async (req, res) => {
      const ok = await storeOf(ctx).remove(principalOf(res).userId, String(req.params.domain));
      if (!ok) throw notFound('no cookies stored for that domain');
      res.status(204).end();
    }),
  );
}

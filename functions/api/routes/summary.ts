// POST /archives/{id}/summary: ask functions/summarize for a (new) summary of the archive's readable text.
import type { RequestHandler, Router } from 'express';
import { PermanentError, Problem } from '../../../shared/core/errors.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { conflict, notFound, problemType } from '../problems.ts';
import { loadArticle, ownerScope, zodProblem } from '../requests.ts';
import { ArchivePath, SummaryAnswer, SummaryBody, type SummaryAnswerJson, OwnerQuery } from '../schemas.ts';

export const summaryOperations: Operation[] = [
  {
    method: 'post',
    path: '/archives/{id}/summary',
    summary: 'Regenerate the summary (force: even when the readable text has not changed)',
    params: { path: ArchivePath, query: OwnerQuery },
    body: { schema: SummaryBody, required: false },
    responses: {
      202: { description: 'Dispatched', json: SummaryAnswer },
      200: { description: 'Already queued (duplicate) or the text is unchanged', json: SummaryAnswer },
      400: problem('Bad body: malformed JSON or unknown field'),
      404: problem('No such archive'),
      409: problem('The archive has no readable text to summarize yet'),
      503: problem('Summaries are not configured'),
    },
  },
];

export function summaryRoutes(app: Router, ctx: RouteContext, optionalJson: RequestHandler): void {
  const { deps } = ctx;
  app.post(
    '/archives/:id/summary',
    optionalJson,
    route(async (req, res) => {
      const a = await loadArticle(deps.db, req.params.id as string, await ownerScope(deps.db, req, principalOf(res)));
      const body = SummaryBody.safeParse(req.body ?? {});
      if (!body.success) throw zodProblem(body.error);
      if (!deps.summaries)
        throw new Problem(503, problemType('summaries-unavailable'), 'Unavailable', 'summaries are not configured');
      let outcome;
      try {
        outcome = await deps.summaries.request(a.id, { force: body.data.force ?? false });
      } catch (err) {
        if (err instanceof PermanentError && err.code === 'not_found') throw notFound();
        if (err instanceof PermanentError && err.code === 'readable_missing')
          throw conflict('no-readable-text', 'the archive has no readable text to summarize yet');
        throw err;
      }
      const answer: SummaryAnswerJson = { id: a.id, summary: outcome };
      res.status(outcome === 'dispatched' ? 202 : 200).json(answer);
    }),
  );
}

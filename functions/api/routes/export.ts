// GET /export?format=json|netscape|zip: the caller's whole library, streamed (never built in memory): HT Base
// JSON (every archive with metadata, summary, tags, notes), a Netscape bookmark file, or a zip of the JSON and
// every artifact's file with a manifest of sha256 sums.
import { pipeline } from 'node:stream/promises';
import type { Router } from 'express';
import { exportRecords, jsonExport, netscapeExport, zipExport } from '../../../shared/imports/export.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { ownerScope, zodProblem } from '../requests.ts';
import { ExportQuery } from '../import-schemas.ts';

const TYPES = {
  json: { type: 'application/json; charset=utf-8', ext: 'json' },
  netscape: { type: 'text/html; charset=utf-8', ext: 'html' },
  zip: { type: 'application/zip', ext: 'zip' },
} as const;

export const exportOperations: Operation[] = [
  {
    method: 'get',
    path: '/export',
    summary:
      'Export the library: json (HT Base export: every archive, metadata, summary, tags, notes), netscape ' +
      '(bookmark file for browsers, Karakeep, Linkwarden) or zip (archive.json, every artifact file, manifest.json and SHA256SUMS)',
    params: { query: ExportQuery },
    responses: {
      200: {
        description: 'The export, streamed as an attachment',
        bytes: true,
        headers: { 'Content-Disposition': { description: 'attachment, with a file name', required: true } },
      },
      400: problem('Unknown export format'),
    },
  },
];

export function exportRoutes(app: Router, ctx: RouteContext): void {
  const { deps, log } = ctx;
  app.get(
    '/export',
    route(async (req, res) => {
      const q = ExportQuery.safeParse(req.query);
      if (!q.success) throw zodProblem(q.error, 'unknown-export-format');
      const format = q.data.format ?? 'json';
      const ownerId = await ownerScope(deps.db, req, principalOf(res));
      // Before the 200 goes out: a database that cannot answer is a 500, not a truncated download.
      await deps.db.selectFrom('articles').select('id').where('owner_id', '=', ownerId).limit(1).execute();
      const day = new Date().toISOString().slice(0, 10);
      res.status(200);
      res.setHeader('Content-Type', TYPES[format].type);
      res.setHeader('Content-Disposition', `attachment; filename="htbase-export-${day}.${TYPES[format].ext}"`);
      res.setHeader('Cache-Control', 'no-store');
      const body =
        format === 'zip'
          ? zipExport({ db: deps.db, blobs: deps.blobs, ownerId, logger: log })
          : format === 'netscape'
            ? netscapeExport(exportRecords(deps.db, ownerId))
            : jsonExport(exportRecords(deps.db, ownerId));
      try {
        await pipeline(body, res);
      } catch (err) {
        // Headers are gone: the client sees a truncated download (the zip's directory is missing), never a fake end.
        log.error({ err, format }, 'export stream failed');
        res.destroy();
      }
      log.info({ userId: ownerId, format }, 'export sent');
    }),
  );
}

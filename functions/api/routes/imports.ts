// POST /imports (a bookmark or export file, multipart `file` + optional `format` and `formats`) and
// GET /imports/{id}: the file is read whole (capped), every line stored in one transaction, and the queuer
// (shared/imports/queuer.ts) archives them at its own pace. Unknown, corrupt or oversized files store nothing.
import { randomUUID } from 'node:crypto';
import type { Request, Router } from 'express';
import busboy from 'busboy';
import { Problem } from '../../../shared/core/errors.ts';
import { prepareImport } from '../../../shared/imports/detect.ts';
import { createImport, findImportProgress } from '../../../shared/imports/store.ts';
import { ImportFileError, IMPORT_FORMATS, isImportFormat } from '../../../shared/imports/types.ts';
import type { RouteContext } from '../deps.ts';
import { principalOf, route } from '../middleware.ts';
import { problem, type Operation } from '../openapi.ts';
import { badRequest, notFound, problemType } from '../problems.ts';
import { parseFormats } from '../requests.ts';
import { ImportAnswer, ImportId, ImportPath, ImportView, type ImportViewJson } from '../import-schemas.ts';

/** The default cap when the deployable's config does not set IMPORT_MAX_BYTES. */
export const DEFAULT_IMPORT_MAX_BYTES = 32 * 1024 * 1024;
/** The paths whose writes are multipart (request-guards.ts accepts multipart/form-data only on these). */
export const IMPORT_MULTIPART_PATHS = [/^\/imports\/?$/];

export const importOperations: Operation[] = [
  {
    method: 'post',
    path: '/imports',
    summary:
      'Import a bookmark or export file (multipart/form-data: `file`; optional `format`, detected when absent, ' +
      `one of ${IMPORT_FORMATS.join(', ')}; optional \`formats\`, comma-separated capture formats)`,
    responses: {
      202: {
        description: 'Stored: every line is queued for archiving, bad lines are reported',
        json: ImportAnswer,
        headers: { Location: { description: 'The import: /imports/{id}', required: true } },
      },
      400: problem('No `file` field, an unknown `format` or capture format'),
      413: problem('The file is larger than the cap (named in the message)'),
      415: problem('Not multipart/form-data, or a file of no known format'),
      422: problem('A file of a known format that cannot be read (corrupt, or not the format named), or empty'),
    },
  },
  {
    method: 'get',
    path: '/imports/{id}',
    summary: "An import's progress: total, queued, archived, duplicates, failed (with each failed line's reason)",
    params: { path: ImportPath },
    responses: { 200: { description: 'The import', json: ImportView }, 404: problem('No such import') },
  },
];

interface Upload {
  file: Buffer;
  filename: string | null;
  fields: Record<string, string>;
}

const tooLarge = (max: number) =>
  new Problem(
    413,
    problemType('file-too-large'),
    'Content too large',
    `the file is larger than the cap of ${max} bytes`,
  );

/**
 * Reads the multipart body: the one `file` (at most `max` bytes) and small text fields. An oversized file is
 * drained, not stored, so the client reads the 413 instead of a reset connection.
 */
function readUpload(req: Request, max: number): Promise<Upload> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: req.headers, limits: { fileSize: max, files: 1, fields: 10, fieldSize: 1024 } });
    } catch {
      return reject(
        new Problem(
          415,
          problemType('unsupported-media-type'),
          'Unsupported media type',
          'send the file as multipart/form-data in a field named `file`',
        ),
      );
    }
    const fields: Record<string, string> = {};
    let file: Buffer | null = null;
    let filename: string | null = null;
    let over = false;
    bb.on('field', (name, value) => (fields[name] = value));
    bb.on('file', (name, stream, info) => {
      if (name !== 'file') return stream.resume();
      filename = info.filename ?? null;
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => (over = true));
      stream.on('end', () => (file = over ? null : Buffer.concat(chunks)));
    });
    bb.on('error', () => reject(badRequest('malformed-multipart', 'the multipart body cannot be read')));
    bb.on('close', () => {
      if (over) return reject(tooLarge(max));
      if (!file) return reject(badRequest('missing-file', 'send the file in a multipart field named `file`'));
      resolve({ file, filename, fields });
    });
    // In the cloud the Functions Framework has read the body already (multipart.ts says why).
    const raw = (req as Request & { rawBody?: Buffer }).rawBody;
    if (raw) bb.end(raw);
    else req.pipe(bb);
  });
}

export function importRoutes(app: Router, ctx: RouteContext): void {
  const { deps, log } = ctx;
  const max = deps.config.IMPORT_MAX_BYTES ?? DEFAULT_IMPORT_MAX_BYTES;
  app.post(
    '/imports',
    route(async (req, res) => {
      const caller = principalOf(res);
      if (Number(req.headers['content-length'] ?? 0) > max + 64 * 1024) {
        // Far over the cap: answer now and close, rather than read it all.
        res.setHeader('Connection', 'close');
        throw tooLarge(max);
      }
      const upload = await readUpload(req, max);
      const named = upload.fields.format?.trim() || undefined;
      if (named !== undefined && !isImportFormat(named))
        throw badRequest(
          'unknown-import-format',
          `unknown format ${JSON.stringify(named)}; known: ${IMPORT_FORMATS.join(', ')}`,
        );
      const formats = parseFormats(
        upload.fields.formats
          ?.split(',')
          .map((f) => f.trim())
          .filter(Boolean),
      );
      let prepared;
      try {
        prepared = await prepareImport(upload.file, named);
      } catch (err) {
        if (!(err instanceof ImportFileError)) throw err;
        throw err.kind === 'unknown-format'
          ? new Problem(415, problemType('unknown-import-format'), 'Unsupported media type', err.message)
          : new Problem(422, problemType('unreadable-import'), 'Unprocessable', err.message);
      }
      if (!prepared.lines.length && !prepared.failed.length)
        throw new Problem(422, problemType('empty-import'), 'Unprocessable', 'the file holds no bookmarks');
      const id = randomUUID();
      await createImport(deps.db, { id, ownerId: caller.userId, filename: upload.filename, formats, prepared });
      log.info(
        { importId: id, userId: caller.userId, format: prepared.format, lines: prepared.lines.length },
        'import stored',
      );
      res.status(202).setHeader('Location', `/imports/${id}`);
      res.json({
        id,
        format: prepared.format,
        total: prepared.lines.length + prepared.failed.length + prepared.duplicates,
        duplicates: prepared.duplicates,
        failed: prepared.failed.length,
        links: { self: `/imports/${id}` },
      });
    }),
  );

  app.get(
    '/imports/:id',
    route(async (req, res) => {
      const id = req.params.id as string;
      if (!ImportId.safeParse(id).success) throw notFound('no such import');
      // Another user's import answers 404 like a missing one.
      const p = await findImportProgress(deps.db, id, principalOf(res).userId);
      if (!p) throw notFound('no such import');
      const queued = p.waiting + p.capturing;
      const body: ImportViewJson = {
        ...p,
        createdAt: p.createdAt.toISOString(),
        status: p.waiting ? 'queuing' : p.capturing ? 'capturing' : 'done',
        queued,
        links: { self: `/imports/${p.id}` },
      };
      res.json(body);
    }),
  );
}

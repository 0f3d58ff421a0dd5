// The zod schemas of the import and export routes (issue 13); schemas.ts lists them among the document's
// components so /openapi.json covers them like every other answer.
import { z } from 'zod';
import { IMPORT_FORMATS } from '../../shared/imports/types.ts';
import { EXPORT_FORMATS } from '../../shared/imports/export.ts';

export const ImportFormatName = z.enum(IMPORT_FORMATS);
export const ImportId = z.guid();
export const ImportPath = z.object({ id: z.string() });
export const ExportQuery = z.object({
  format: z.enum(EXPORT_FORMATS).optional(),
  owner: z.string().min(1).max(200).optional(),
});

export const ImportLinks = z.object({ self: z.string() });

/** 202: the file is stored, every line of it; the queuer archives them at its pace. */
export const ImportAnswer = z.object({
  id: ImportId,
  format: ImportFormatName,
  /** Lines of the file: distinct pages, bad lines and lines merged into an earlier one of the same page. */
  total: z.int(),
  duplicates: z.int(),
  failed: z.int(),
  links: ImportLinks,
});

export const ImportFailure = z.object({ line: z.int(), url: z.string(), reason: z.string() });

export const ImportView = z.object({
  id: ImportId,
  format: ImportFormatName,
  filename: z.string().nullable(),
  formats: z.array(z.string()),
  /** queuing: lines still wait for their turn; capturing: all handed over, captures running; done. */
  status: z.enum(['queuing', 'capturing', 'done']),
  createdAt: z.iso.datetime(),
  total: z.int(),
  /** waiting + capturing: lines not yet archived, duplicate or failed. */
  queued: z.int(),
  waiting: z.int(),
  capturing: z.int(),
  archived: z.int(),
  /** Merged within the file, or into an archive of the same page already in the library. */
  duplicates: z.int(),
  failed: z.int(),
  failures: z.array(ImportFailure),
  links: ImportLinks,
});

export type ImportViewJson = z.infer<typeof ImportView>;
export type ImportAnswerJson = z.infer<typeof ImportAnswer>;

export const importResponseComponents = { ImportFormat: ImportFormatName, ImportAnswer, ImportFailure, ImportView };

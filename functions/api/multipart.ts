// Reading a multipart/form-data request (busboy): named text fields and ONE file held in memory up to a cap.
// Over the cap answers 413 with the cap in the message; anything malformed is a 400. Routes that take files use it.
import busboy from 'busboy';
import type { Request } from 'express';
import { Problem } from '../../shared/core/errors.ts';
import { badRequest, problemType } from './problems.ts';

export interface MultipartFile {
  field: string;
  filename: string;
  mimeType: string;
  data: Buffer;
}

export interface Multipart {
  fields: Record<string, string>;
  file: MultipartFile | null;
}

export const tooLarge = (what: string, maxBytes: number) =>
  new Problem(
    413,
    problemType('payload-too-large'),
    'Payload too large',
    `${what} is over the ${maxBytes} byte limit (${formatBytes(maxBytes)})`,
    { maxBytes },
  );

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/**
 * Parses the body. `fileField` names the one file accepted (another file part is a 400). In the cloud the
 * Functions Framework has already read the body into `req.rawBody`; busboy is then fed that buffer.
 */
export function readMultipart(
  req: Request,
  o: { fileField: string; maxFileBytes: number; maxFieldBytes?: number },
): Promise<Multipart> {
  const type = (req.headers['content-type'] ?? '').toLowerCase();
  if (!type.startsWith('multipart/form-data'))
    return Promise.reject(
      new Problem(415, problemType('unsupported-media-type'), 'Unsupported media type', 'send multipart/form-data'),
    );
  const declared = Number(req.headers['content-length'] ?? NaN);
  // Refused before reading: a declared body far over the cap (the multipart framing adds well under 64 KiB).
  if (Number.isFinite(declared) && declared > o.maxFileBytes + 64 * 1024)
    return Promise.reject(tooLarge('the upload', o.maxFileBytes));
  return new Promise<Multipart>((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        limits: { files: 1, fileSize: o.maxFileBytes, fields: 20, fieldSize: o.maxFieldBytes ?? 16 * 1024 },
      });
    } catch {
      reject(badRequest('malformed-multipart', 'the multipart body has no boundary'));
      return;
    }
    const fields: Record<string, string> = {};
    let file: MultipartFile | null = null;
    let failed: Problem | null = null;
    const fail = (p: Problem) => {
      failed ??= p;
    };
    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(badRequest('field-too-large', `the field ${JSON.stringify(name)} is too long`));
      fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      if (name !== o.fileField || file) {
        fail(badRequest('unexpected-file', `only one file, in the field ${JSON.stringify(o.fileField)}, is accepted`));
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('limit', () => fail(tooLarge(`the file ${JSON.stringify(info.filename ?? name)}`, o.maxFileBytes)));
      stream.on('close', () => {
        file = { field: name, filename: info.filename ?? '', mimeType: info.mimeType, data: Buffer.concat(chunks) };
      });
    });
    bb.on('filesLimit', () => fail(badRequest('unexpected-file', 'only one file is accepted')));
    bb.on('error', () => {
      req.unpipe(bb);
      req.resume();
      reject(failed ?? badRequest('malformed-multipart', 'the multipart body is malformed'));
    });
    bb.on('close', () => (failed ? reject(failed) : resolve({ fields, file })));
    const raw = (req as Request & { rawBody?: Buffer }).rawBody;
    if (raw) bb.end(raw);
    else req.pipe(bb);
  });
}

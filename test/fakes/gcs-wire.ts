// The Cloud Storage fake's wire format: the checksums GCS reports (crc32c, md5), JSON API answers and errors,
// request bodies, multipart/related uploads and X-Goog-Hash headers. Pure helpers, no state.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

// CRC32C (Castagnoli), table driven: an implementation independent of the client's.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
export function crc32cBase64(buf: Buffer): string {
  let crc = 0xffffffff;
  for (let i = 0; i < buf.length; i++) crc = CRC_TABLE[(crc ^ buf[i]) & 0xff] ^ (crc >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((crc ^ 0xffffffff) >>> 0);
  return out.toString('base64');
}
export function md5Base64(buf: Buffer): string {
  return createHash('md5').update(buf).digest('base64');
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason = 'invalid',
  ) {
    super(message);
  }
}

export function readBody(req: IncomingMessage, limit = 512 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) reject(new HttpError(413, 'body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new HttpError(400, 'request aborted')));
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': String(buf.length),
    ...headers,
  });
  res.end(buf);
}

export function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, {
    error: {
      code: err.status,
      message: err.message,
      errors: [{ message: err.message, domain: 'global', reason: err.reason }],
    },
  });
}

/** Parses a multipart/related body: the JSON metadata part, then the media part. */
export function parseMultipart(body: Buffer, contentType: string): { meta: Record<string, unknown>; media: Buffer } {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) throw new HttpError(400, 'multipart upload without a boundary');
  const delim = Buffer.from(`--${m[1]}`);
  const parts: Buffer[] = [];
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next === -1) break;
    // Each part: CRLF, headers, CRLF CRLF, content, CRLF before the next delimiter.
    parts.push(body.subarray(start + 2, next - 2));
    pos = next;
  }
  if (parts.length < 2) throw new HttpError(400, `multipart upload with ${parts.length} parts`);
  const split = (p: Buffer) => {
    const i = p.indexOf('\r\n\r\n');
    return { headers: p.subarray(0, i).toString(), content: p.subarray(i + 4) };
  };
  const metaPart = split(parts[0]);
  const mediaPart = split(parts[1]);
  const meta = JSON.parse(metaPart.content.toString('utf8') || '{}') as Record<string, unknown>;
  const ct = /content-type:\s*([^\r\n]+)/i.exec(mediaPart.headers);
  if (ct && !meta.contentType) meta.contentType = ct[1].trim();
  return { meta, media: Buffer.from(mediaPart.content) };
}

export function parseGoogHash(h: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  for (const v of [h ?? []].flat().join(',').split(',')) {
    const i = v.indexOf('=');
    if (i > 0) (out as Record<string, string>)[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  }
  return out;
}

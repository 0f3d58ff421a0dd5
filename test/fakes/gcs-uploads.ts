// The Cloud Storage fake's upload endpoint (/upload/storage/v1/b/{bucket}/o): resumable sessions (start, chunks,
// status queries, cancel), multipart/related and media uploads, each ending in the server's finalize().
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, parseGoogHash, parseMultipart, readBody, sendJson } from './gcs-wire.ts';
import type { ObjectResource } from './gcs-server.ts';

export interface Session {
  id: string;
  bucket: string;
  name: string;
  meta: Record<string, unknown>;
  chunks: Buffer[];
  received: number;
  done?: ObjectResource;
}

/** What an upload needs from the server: its sessions, its address, its bounds, and how an object is stored. */
export interface UploadContext {
  sessions: Map<string, Session>;
  /** http://127.0.0.1:PORT, the prefix of the session URLs handed out. */
  base(): string;
  /** Bytes a non-final resumable chunk must be a multiple of; 0 accepts any size. */
  granularity: number;
  finalize(
    bucket: string,
    name: string,
    meta: Record<string, unknown>,
    data: Buffer,
    hash: { crc32c?: string; md5?: string },
  ): ObjectResource;
  /** Throws 412 unless the request's ifGenerationMatch holds. */
  checkPreconditions(bucket: string, name: string, q: URLSearchParams): void;
}

/** Serves one request to the upload endpoint of `bucket`. */
export async function handleUpload(
  ctx: UploadContext,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  q: URLSearchParams,
): Promise<void> {
  const method = req.method ?? 'GET';
  const uploadType = q.get('uploadType');
  const uploadId = q.get('upload_id');
  if (uploadId) {
    const s = ctx.sessions.get(uploadId);
    if (method === 'DELETE') {
      // Cancelling a session: GCS answers 499 and the object never appears.
      await readBody(req);
      const existed = ctx.sessions.delete(uploadId);
      res.writeHead(existed ? 499 : 404, { 'content-length': '0' });
      res.end();
      return;
    }
    if (!s) throw new HttpError(404, 'No such upload session', 'notFound');
    if (method === 'PUT' || method === 'POST') return resumablePut(ctx, req, res, s);
  }
  if (method === 'POST' && uploadType === 'resumable') {
    const raw = await readBody(req);
    const meta = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    const name = q.get('name') ?? (meta.name as string | undefined);
    if (!name) throw new HttpError(400, 'Required object name');
    ctx.checkPreconditions(bucket, name, q);
    if (!meta.contentType && req.headers['x-upload-content-type'])
      meta.contentType = String(req.headers['x-upload-content-type']);
    const id = randomUUID();
    ctx.sessions.set(id, { id, bucket, name, meta, chunks: [], received: 0 });
    const location = `${ctx.base()}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
    res.writeHead(200, { location, 'content-length': '0' });
    res.end();
    return;
  }
  if (method === 'POST' && uploadType === 'multipart') {
    const raw = await readBody(req);
    const { meta, media } = parseMultipart(raw, String(req.headers['content-type'] ?? ''));
    const name = q.get('name') ?? (meta.name as string | undefined);
    if (!name) throw new HttpError(400, 'Required object name');
    ctx.checkPreconditions(bucket, name, q);
    return sendJson(res, 200, ctx.finalize(bucket, name, meta, media, parseGoogHash(req.headers['x-goog-hash'])));
  }
  if (method === 'POST' && uploadType === 'media') {
    const media = await readBody(req);
    const name = q.get('name');
    if (!name) throw new HttpError(400, 'Required object name');
    ctx.checkPreconditions(bucket, name, q);
    const meta = { contentType: String(req.headers['content-type'] ?? 'application/octet-stream') };
    return sendJson(res, 200, ctx.finalize(bucket, name, meta, media, parseGoogHash(req.headers['x-goog-hash'])));
  }
  throw new HttpError(400, `unsupported upload: ${method} uploadType=${uploadType}`);
}

/** One PUT to a resumable session: a chunk, the final chunk, or a status query (Content-Range tells which). */
async function resumablePut(ctx: UploadContext, req: IncomingMessage, res: ServerResponse, s: Session): Promise<void> {
  const body = await readBody(req);
  const range = String(req.headers['content-range'] ?? '');
  if (s.done) return sendJson(res, 200, s.done);
  // `bytes */T` or `bytes */*`: a status query (possibly finishing when T bytes are already here).
  let m = /^bytes \*\/(\d+|\*)$/.exec(range);
  if (m) {
    if (m[1] !== '*' && Number(m[1]) === s.received) return complete(ctx, res, s, req);
    return incomplete(res, s);
  }
  m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(range);
  if (!m) throw new HttpError(400, `bad Content-Range: ${range}`);
  const start = Number(m[1]);
  if (start !== s.received) {
    // GCS answers 308 with what it has; the client re-sends from there.
    if (start > s.received) throw new HttpError(400, `gap in resumable upload: have ${s.received}, got ${start}`);
  }
  const fresh = body.subarray(s.received - start);
  s.chunks.push(fresh);
  s.received += fresh.length;
  const total = m[3] === '*' ? null : Number(m[3]);
  // Single shot (`bytes 0-*/*`): the end of the request is the end of the object.
  if (m[2] === '*' || (total !== null && s.received >= total)) {
    if (total !== null && s.received !== total) throw new HttpError(400, `declared ${total} bytes, got ${s.received}`);
    return complete(ctx, res, s, req);
  }
  if (ctx.granularity && fresh.length % ctx.granularity !== 0) {
    throw new HttpError(400, `non-final chunk of ${fresh.length} bytes is not a multiple of ${ctx.granularity}`);
  }
  return incomplete(res, s);
}

function incomplete(res: ServerResponse, s: Session): void {
  const headers: Record<string, string> = { 'content-length': '0' };
  if (s.received > 0) headers.range = `bytes=0-${s.received - 1}`;
  res.writeHead(308, headers);
  res.end();
}

function complete(ctx: UploadContext, res: ServerResponse, s: Session, req: IncomingMessage): void {
  const resource = ctx.finalize(
    s.bucket,
    s.name,
    s.meta,
    Buffer.concat(s.chunks),
    parseGoogHash(req.headers['x-goog-hash']),
  );
  s.done = resource;
  s.chunks = [];
  ctx.sessions.delete(s.id);
  sendJson(res, 200, resource);
}

// FAKE: stands in for Google Cloud Storage, which has no emulator on this machine. It speaks the JSON API
// calls the real @google-cloud/storage client makes (resumable and multipart uploads, media download,
// metadata, list, patch, delete) plus v4-signed XML-style GETs, keeps objects in memory, returns real
// md5Hash/crc32c so the client's integrity checks run, and calls `onFinalize` like a finalize notification.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, createPublicKey, createVerify, randomUUID, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';

/** The object resource, as the JSON API returns it (and as Eventarc's storage events carry it). */
export interface ObjectResource {
  kind: 'storage#object';
  id: string;
  selfLink: string;
  mediaLink: string;
  name: string;
  bucket: string;
  generation: string;
  metageneration: string;
  contentType: string;
  storageClass: string;
  size: string;
  md5Hash: string;
  crc32c: string;
  etag: string;
  timeCreated: string;
  updated: string;
  metadata?: Record<string, string>;
}

export interface GcsFakeOptions {
  /** Called (after the response) for every completed upload: the hook a test turns into a CloudEvent. */
  onFinalize?: (object: ObjectResource) => void | Promise<void>;
  /** When set, signed-URL GETs (`/{bucket}/{object}?X-Goog-Signature=...`) are checked against this key. */
  signedUrlPublicKey?: KeyObject | string;
  /** Bytes a resumable chunk must be a multiple of (GCS: 256 KiB); 0 accepts any size. */
  chunkGranularity?: number;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
}

export interface GcsFake {
  readonly apiEndpoint: string;
  readonly dir?: string;
  /** Every request served, in order (for assertions on which upload path the client took). */
  readonly requests: RequestRecord[];
  /** Errors thrown by onFinalize. */
  readonly hookErrors: unknown[];
  list(bucket?: string): ObjectResource[];
  read(bucket: string, name: string): Buffer | undefined;
  /** Resumable sessions started but neither completed nor cancelled. */
  openSessions(): number;
  /** The next completed upload is stored with these bytes flipped, so its checksums disagree with the client's. */
  corruptNextUpload(): void;
  /** The next media download serves a flipped byte under the original checksums. */
  corruptNextDownload(): void;
  close(): Promise<void>;
}

interface StoredObject {
  resource: ObjectResource;
  data: Buffer;
}

interface Session {
  id: string;
  bucket: string;
  name: string;
  meta: Record<string, unknown>;
  chunks: Buffer[];
  received: number;
  done?: ObjectResource;
}

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

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason = 'invalid',
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage, limit = 512 * 1024 * 1024): Promise<Buffer> {
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

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const buf = Buffer.from(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=UTF-8',
    'content-length': String(buf.length),
    ...headers,
  });
  res.end(buf);
}

function sendError(res: ServerResponse, err: HttpError): void {
  sendJson(res, err.status, {
    error: {
      code: err.status,
      message: err.message,
      errors: [{ message: err.message, domain: 'global', reason: err.reason }],
    },
  });
}

/** Parses a multipart/related body: the JSON metadata part, then the media part. */
function parseMultipart(body: Buffer, contentType: string): { meta: Record<string, unknown>; media: Buffer } {
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

function parseGoogHash(h: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  for (const v of [h ?? []].flat().join(',').split(',')) {
    const i = v.indexOf('=');
    if (i > 0) (out as Record<string, string>)[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  }
  return out;
}

export async function startGcsFake(opts: GcsFakeOptions = {}): Promise<GcsFake> {
  const objects = new Map<string, StoredObject>(); // `${bucket}/${name}`
  const sessions = new Map<string, Session>();
  const requests: RequestRecord[] = [];
  const hookErrors: unknown[] = [];
  const granularity = opts.chunkGranularity ?? 0;
  const publicKey =
    typeof opts.signedUrlPublicKey === 'string' ? createPublicKey(opts.signedUrlPublicKey) : opts.signedUrlPublicKey;
  let generation = Date.now() * 1000;
  let corruptUpload = false;
  let corruptDownload = false;
  let base = '';

  function finalize(
    bucket: string,
    name: string,
    meta: Record<string, unknown>,
    data: Buffer,
    hash: { crc32c?: string; md5?: string },
  ): ObjectResource {
    const stored = corruptUpload ? Buffer.from(data) : data;
    if (corruptUpload && stored.length) stored[0] ^= 0xff;
    corruptUpload = false;
    const crc32c = crc32cBase64(stored);
    const md5Hash = md5Base64(stored);
    // The server checks the checksums the client declared, as GCS does (metadata or X-Goog-Hash).
    const wantCrc = (meta.crc32c as string | undefined) ?? hash.crc32c;
    const wantMd5 = (meta.md5Hash as string | undefined) ?? hash.md5;
    if (wantCrc && wantCrc !== crc32c)
      throw new HttpError(400, `Provided CRC32C "${wantCrc}" doesn't match calculated CRC32C "${crc32c}".`);
    if (wantMd5 && wantMd5 !== md5Hash)
      throw new HttpError(400, `Provided MD5 hash "${wantMd5}" doesn't match calculated MD5 hash "${md5Hash}".`);
    const now = new Date().toISOString();
    const gen = String(++generation);
    const enc = encodeURIComponent(name);
    const resource: ObjectResource = {
      kind: 'storage#object',
      id: `${bucket}/${name}/${gen}`,
      selfLink: `${base}/storage/v1/b/${bucket}/o/${enc}`,
      mediaLink: `${base}/download/storage/v1/b/${bucket}/o/${enc}?generation=${gen}&alt=media`,
      name,
      bucket,
      generation: gen,
      metageneration: '1',
      contentType: (meta.contentType as string | undefined) ?? 'application/octet-stream',
      storageClass: 'STANDARD',
      size: String(stored.length),
      md5Hash,
      crc32c,
      etag: createHash('md5').update(gen).digest('base64').slice(0, 12),
      timeCreated: now,
      updated: now,
      ...(meta.metadata && typeof meta.metadata === 'object'
        ? { metadata: { ...(meta.metadata as Record<string, string>) } }
        : {}),
    };
    objects.set(`${bucket}/${name}`, { resource, data: stored });
    if (opts.onFinalize) {
      const snapshot = structuredClone(resource);
      setImmediate(() => {
        Promise.resolve()
          .then(() => opts.onFinalize!(snapshot))
          .catch((err) => hookErrors.push(err));
      });
    }
    return resource;
  }

  function getObject(bucket: string, name: string): StoredObject {
    const o = objects.get(`${bucket}/${name}`);
    if (!o) throw new HttpError(404, `No such object: ${bucket}/${name}`, 'notFound');
    return o;
  }

  function checkPreconditions(bucket: string, name: string, q: URLSearchParams): void {
    const ifGen = q.get('ifGenerationMatch');
    if (ifGen === null) return;
    const cur = objects.get(`${bucket}/${name}`);
    const curGen = cur ? cur.resource.generation : '0';
    if (ifGen !== curGen)
      throw new HttpError(412, 'At least one of the pre-conditions you specified did not hold.', 'conditionNotMet');
  }

  async function handleResumablePut(req: IncomingMessage, res: ServerResponse, s: Session): Promise<void> {
    const body = await readBody(req);
    const range = String(req.headers['content-range'] ?? '');
    if (s.done) return sendJson(res, 200, s.done);
    // `bytes */T` or `bytes */*`: a status query (possibly finishing when T bytes are already here).
    let m = /^bytes \*\/(\d+|\*)$/.exec(range);
    if (m) {
      if (m[1] !== '*' && Number(m[1]) === s.received) return complete(res, s, req);
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
      if (total !== null && s.received !== total)
        throw new HttpError(400, `declared ${total} bytes, got ${s.received}`);
      return complete(res, s, req);
    }
    if (granularity && fresh.length % granularity !== 0) {
      throw new HttpError(400, `non-final chunk of ${fresh.length} bytes is not a multiple of ${granularity}`);
    }
    return incomplete(res, s);
  }

  function incomplete(res: ServerResponse, s: Session): void {
    const headers: Record<string, string> = { 'content-length': '0' };
    if (s.received > 0) headers.range = `bytes=0-${s.received - 1}`;
    res.writeHead(308, headers);
    res.end();
  }

  function complete(res: ServerResponse, s: Session, req: IncomingMessage): void {
    const resource = finalize(
      s.bucket,
      s.name,
      s.meta,
      Buffer.concat(s.chunks),
      parseGoogHash(req.headers['x-goog-hash']),
    );
    s.done = resource;
    s.chunks = [];
    sessions.delete(s.id);
    sendJson(res, 200, resource);
  }

  function verifySignedUrl(method: string, path: string, q: URLSearchParams, host: string): void {
    if (!publicKey) return;
    const expires = Number(q.get('X-Goog-Expires'));
    const date = q.get('X-Goog-Date') ?? '';
    const sig = q.get('X-Goog-Signature') ?? '';
    const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
    if (!dm || !sig || !Number.isFinite(expires)) throw new HttpError(400, 'missing signed URL parameters');
    const signedAt = Date.UTC(+dm[1], +dm[2] - 1, +dm[3], +dm[4], +dm[5], +dm[6]);
    if (Date.now() > signedAt + expires * 1000) throw new HttpError(400, 'Request has expired', 'expired');
    const signedHeaders = (q.get('X-Goog-SignedHeaders') ?? 'host').split(';');
    // The client signs the endpoint's hostname without its port.
    const headerValues: Record<string, string> = { host };
    const canonicalHeaders = signedHeaders.map((h) => `${h}:${headerValues[h] ?? ''}\n`).join('');
    const params = [...q.entries()].filter(([k]) => k !== 'X-Goog-Signature');
    const enc = (s: string) =>
      encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    const canonicalQuery = params
      .map(([k, v]) => [enc(k), enc(v)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const canonicalRequest = [
      method,
      path,
      canonicalQuery,
      canonicalHeaders,
      signedHeaders.join(';'),
      'UNSIGNED-PAYLOAD',
    ].join('\n');
    const scope = (q.get('X-Goog-Credential') ?? '').split('/').slice(1).join('/');
    const stringToSign = [
      'GOOG4-RSA-SHA256',
      date,
      scope,
      createHash('sha256').update(canonicalRequest).digest('hex'),
    ].join('\n');
    const ok = createVerify('RSA-SHA256').update(stringToSign).verify(publicKey, Buffer.from(sig, 'hex'));
    if (!ok)
      throw new HttpError(
        403,
        'The request signature we calculated does not match the signature you provided.',
        'SignatureDoesNotMatch',
      );
  }

  function serveMedia(req: IncomingMessage, res: ServerResponse, o: StoredObject): void {
    let data = o.data;
    if (corruptDownload && data.length) {
      data = Buffer.from(data);
      data[data.length - 1] ^= 0xff;
      corruptDownload = false;
    }
    res.writeHead(200, {
      'content-type': o.resource.contentType,
      'content-length': String(data.length),
      'x-goog-hash': `crc32c=${o.resource.crc32c},md5=${o.resource.md5Hash}`,
      'x-goog-generation': o.resource.generation,
      'x-goog-metageneration': o.resource.metageneration,
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': o.resource.size,
      etag: o.resource.etag,
    });
    res.end(req.method === 'HEAD' ? undefined : data);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<number | void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const path = url.pathname;
    let m: RegExpExecArray | null;

    // ---- uploads
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path))) {
      const bucket = decodeURIComponent(m[1]);
      const uploadType = q.get('uploadType');
      const uploadId = q.get('upload_id');
      if (uploadId) {
        const s = sessions.get(uploadId);
        if (method === 'DELETE') {
          // Cancelling a session: GCS answers 499 and the object never appears.
          await readBody(req);
          const existed = sessions.delete(uploadId);
          res.writeHead(existed ? 499 : 404, { 'content-length': '0' });
          res.end();
          return;
        }
        if (!s) throw new HttpError(404, 'No such upload session', 'notFound');
        if (method === 'PUT' || method === 'POST') return handleResumablePut(req, res, s);
      }
      if (method === 'POST' && uploadType === 'resumable') {
        const raw = await readBody(req);
        const meta = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
        const name = q.get('name') ?? (meta.name as string | undefined);
        if (!name) throw new HttpError(400, 'Required object name');
        checkPreconditions(bucket, name, q);
        if (!meta.contentType && req.headers['x-upload-content-type'])
          meta.contentType = String(req.headers['x-upload-content-type']);
        const id = randomUUID();
        sessions.set(id, { id, bucket, name, meta, chunks: [], received: 0 });
        const location = `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        res.writeHead(200, { location, 'content-length': '0' });
        res.end();
        return;
      }
      if (method === 'POST' && uploadType === 'multipart') {
        const raw = await readBody(req);
        const { meta, media } = parseMultipart(raw, String(req.headers['content-type'] ?? ''));
        const name = q.get('name') ?? (meta.name as string | undefined);
        if (!name) throw new HttpError(400, 'Required object name');
        checkPreconditions(bucket, name, q);
        return sendJson(res, 200, finalize(bucket, name, meta, media, parseGoogHash(req.headers['x-goog-hash'])));
      }
      if (method === 'POST' && uploadType === 'media') {
        const media = await readBody(req);
        const name = q.get('name');
        if (!name) throw new HttpError(400, 'Required object name');
        checkPreconditions(bucket, name, q);
        const meta = { contentType: String(req.headers['content-type'] ?? 'application/octet-stream') };
        return sendJson(res, 200, finalize(bucket, name, meta, media, parseGoogHash(req.headers['x-goog-hash'])));
      }
      throw new HttpError(400, `unsupported upload: ${method} uploadType=${uploadType}`);
    }

    // ---- objects
    if ((m = /^\/(?:download\/)?storage\/v1\/b\/([^/]+)\/o\/(.+)$/.exec(path))) {
      const bucket = decodeURIComponent(m[1]);
      const name = decodeURIComponent(m[2]);
      if (method === 'GET' || method === 'HEAD') {
        const o = getObject(bucket, name);
        if (q.get('alt') === 'media') return serveMedia(req, res, o);
        return sendJson(res, 200, o.resource);
      }
      if (method === 'DELETE') {
        getObject(bucket, name);
        checkPreconditions(bucket, name, q);
        objects.delete(`${bucket}/${name}`);
        res.writeHead(204);
        res.end();
        return;
      }
      if (method === 'PATCH' || method === 'PUT') {
        const o = getObject(bucket, name);
        const patch = JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>;
        if (patch.contentType) o.resource.contentType = String(patch.contentType);
        if (patch.metadata !== undefined) {
          // PATCH merges metadata keys; a null value removes a key (JSON API semantics).
          const merged: Record<string, string> = method === 'PATCH' ? { ...(o.resource.metadata ?? {}) } : {};
          for (const [k, v] of Object.entries((patch.metadata ?? {}) as Record<string, string | null>)) {
            if (v === null) delete merged[k];
            else merged[k] = String(v);
          }
          o.resource.metadata = merged;
        }
        o.resource.metageneration = String(Number(o.resource.metageneration) + 1);
        o.resource.updated = new Date().toISOString();
        return sendJson(res, 200, o.resource);
      }
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)\/o$/.exec(path)) && method === 'GET') {
      const bucket = decodeURIComponent(m[1]);
      const prefix = q.get('prefix') ?? '';
      const max = Math.min(Number(q.get('maxResults') ?? 1000) || 1000, 1000);
      const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString('utf8') : '';
      const all = [...objects.values()]
        .filter((o) => o.resource.bucket === bucket && o.resource.name.startsWith(prefix) && o.resource.name > after)
        .sort((a, b) => (a.resource.name < b.resource.name ? -1 : 1));
      const page = all.slice(0, max);
      const body: Record<string, unknown> = { kind: 'storage#objects', items: page.map((o) => o.resource) };
      if (all.length > max) body.nextPageToken = Buffer.from(page[page.length - 1].resource.name).toString('base64url');
      return sendJson(res, 200, body);
    }
    if ((m = /^\/storage\/v1\/b\/([^/]+)$/.exec(path)) && method === 'GET') {
      return sendJson(res, 200, {
        kind: 'storage#bucket',
        id: decodeURIComponent(m[1]),
        name: decodeURIComponent(m[1]),
      });
    }

    // ---- signed-URL (XML API path style) download: /{bucket}/{object}
    if (
      (m = /^\/([^/]+)\/(.+)$/.exec(path)) &&
      (method === 'GET' || method === 'HEAD') &&
      !path.startsWith('/storage/')
    ) {
      const bucket = decodeURIComponent(m[1]);
      const name = decodeURIComponent(m[2]);
      if (q.has('X-Goog-Signature'))
        verifySignedUrl(method, path, q, String(req.headers.host ?? '').replace(/:\d+$/, ''));
      else if (publicKey)
        throw new HttpError(403, 'Anonymous caller does not have storage.objects.get access.', 'AccessDenied');
      const o = getObject(bucket, name);
      const disposition = q.get('response-content-disposition');
      if (disposition) res.setHeader('content-disposition', disposition);
      return serveMedia(req, res, o);
    }
    throw new HttpError(404, `no route for ${method} ${path}`, 'notFound');
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
    };
    requests.push(record);
    route(req, res)
      .catch((err: unknown) => {
        const e =
          err instanceof HttpError
            ? err
            : new HttpError(500, err instanceof Error ? err.message : String(err), 'backendError');
        if (!res.headersSent) sendError(res, e);
        else res.destroy();
      })
      .finally(() => (record.status = res.statusCode));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiEndpoint: base,
    requests,
    hookErrors,
    list: (bucket) =>
      [...objects.values()]
        .filter((o) => !bucket || o.resource.bucket === bucket)
        .map((o) => structuredClone(o.resource)),
    read: (bucket, name) => objects.get(`${bucket}/${name}`)?.data,
    openSessions: () => [...sessions.values()].filter((s) => !s.done).length,
    corruptNextUpload: () => void (corruptUpload = true),
    corruptNextDownload: () => void (corruptDownload = true),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

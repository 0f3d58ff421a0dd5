// FAKE: stands in for Google Cloud Storage, which has no emulator here: the JSON API calls the @google-cloud/storage
// client makes (uploads in gcs-uploads.ts, download, metadata, list, patch, delete) and v4-signed GETs; objects in
// memory with real md5Hash/crc32c so the client's checks run; `onFinalize` plays the finalize notification.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { verifySignedUrl } from './gcs-signed-url.ts';
import { handleUpload, type Session, type UploadContext } from './gcs-uploads.ts';
import { HttpError, crc32cBase64, md5Base64, readBody, sendError, sendJson } from './gcs-wire.ts';

export { crc32cBase64, md5Base64 } from './gcs-wire.ts';

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

  const uploads: UploadContext = { sessions, base: () => base, granularity, finalize, checkPreconditions };

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

    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(path))) {
      return handleUpload(uploads, req, res, decodeURIComponent(m[1]), q);
    }
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
      // Without a key to check against, a signed URL is taken on trust (the tests that sign pass one).
      if (q.has('X-Goog-Signature')) {
        if (publicKey) verifySignedUrl(publicKey, method, path, q, String(req.headers.host ?? '').replace(/:\d+$/, ''));
      } else if (publicKey)
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

// FAKE: stands in for an S3-compatible object store (Amazon S3, MinIO, R2...), none of which runs here. It speaks
// the S3 REST API the real @aws-sdk/client-s3 sends, path-style: Put/Get/Head/Copy/DeleteObject, DeleteObjects,
// ListObjectsV2 with continuation, multipart uploads, HeadBucket; it verifies SigV4 and every payload hash.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { S3Error, errorXml, readPayload, verifySigV4, xmlEscape, xmlUnescape } from './s3-wire.ts';

export interface S3Object {
  body: Buffer;
  contentType: string;
  /** x-amz-meta-* headers, names lower-cased as S3 stores them. */
  metadata: Record<string, string>;
  etag: string;
  lastModified: Date;
}

interface Multipart {
  key: string;
  contentType: string;
  metadata: Record<string, string>;
  parts: Map<number, { body: Buffer; etag: string }>;
}

export interface S3RequestLog {
  method: string;
  path: string;
  query: Record<string, string>;
  op: string;
  status: number;
  /** x-amz-content-sha256 as sent: a hex hash, UNSIGNED-PAYLOAD or a STREAMING-* (aws-chunked) mode. */
  payload: string;
}

export interface S3Fake {
  endpoint: string;
  /** The first bucket's objects. */
  objects: Map<string, S3Object>;
  bucket(name: string): Map<string, S3Object>;
  requests: S3RequestLog[];
  /** Multipart uploads started and neither completed nor aborted. */
  openUploads(): number;
  close(): Promise<void>;
}

export interface S3FakeOptions {
  accessKeyId: string;
  secretAccessKey: string;
  buckets: string[];
  /** S3's minimum part size (5 MiB): every part but the last must reach it. */
  minPartSize?: number;
  /**
   * Behave like the S3-compatible stores (older MinIO, Ceph, several clouds) that accept DeleteObjects only with
   * Content-MD5, not AWS's newer x-amz-checksum-* alternative (MissingContentMD5).
   */
  deleteNeedsContentMd5?: boolean;
}

const MIN_PART = 5 * 1024 * 1024;
const md5Etag = (b: Buffer) => `"${createHash('md5').update(b).digest('hex')}"`;

function metaOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (k.startsWith('x-amz-meta-')) out[k.slice(11)] = String(v);
  return out;
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

function objectHeaders(o: S3Object): Record<string, string | number> {
  const h: Record<string, string | number> = {
    'content-type': o.contentType,
    'content-length': o.body.length,
    etag: o.etag,
    'last-modified': o.lastModified.toUTCString(),
    'accept-ranges': 'bytes',
  };
  for (const [k, v] of Object.entries(o.metadata)) h[`x-amz-meta-${k}`] = v;
  return h;
}

/** The `<Tag>value</Tag>` contents of every `<Block>` in an XML body (the fake's request bodies are flat). */
function blocks(xml: string, block: string): string[] {
  return [...xml.matchAll(new RegExp(`<${block}>([\\s\\S]*?)</${block}>`, 'g'))].map((m) => m[1]!);
}
const tag = (xml: string, name: string) => {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlUnescape(m[1]!) : undefined;
};

export async function startS3Fake(opts: S3FakeOptions): Promise<S3Fake> {
  const buckets = new Map(opts.buckets.map((b) => [b, new Map<string, S3Object>()]));
  const uploads = new Map<string, Multipart>();
  const requests: S3RequestLog[] = [];
  const minPart = opts.minPartSize ?? MIN_PART;

  async function handle(req: IncomingMessage, res: ServerResponse, log: S3RequestLog): Promise<void> {
    const [rawPath, rawQuery = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
    const q = Object.fromEntries(new URLSearchParams(rawQuery));
    log.query = q;
    const sig = verifySigV4(req, rawPath, rawQuery, opts, new Date());
    const [, bucketName = '', ...rest] = rawPath.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const bucket = buckets.get(decodeURIComponent(bucketName));
    if (!bucket) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    const method = req.method ?? 'GET';

    if (!key) {
      if (method === 'HEAD') return void ((log.op = 'HeadBucket'), res.writeHead(200).end());
      if (method === 'GET' && q['list-type'] === '2') return listV2(bucket, bucketName, q, res, log);
      if (method === 'POST' && 'delete' in q) {
        log.op = 'DeleteObjects';
        const payload = await readPayload(req, sig);
        const checksummed = Object.keys({ ...req.headers, ...payload.trailers }).some((h) =>
          /^x-amz-checksum-(?!type)/.test(h),
        );
        // AWS requires an integrity check of the list; the strict stores only take Content-MD5.
        if (!req.headers['content-md5'] && (opts.deleteNeedsContentMd5 || !checksummed))
          throw new S3Error(400, 'MissingContentMD5', 'Missing required header for this request: Content-Md5.');
        const body = payload.bytes.toString('utf8');
        const keys = blocks(body, 'Object').map((o) => tag(o, 'Key') ?? '');
        if (keys.length > 1000) throw new S3Error(400, 'MalformedXML', 'more than 1000 keys in one DeleteObjects');
        const quiet = tag(body, 'Quiet') === 'true';
        for (const k of keys) bucket.delete(k);
        const deleted = quiet ? '' : keys.map((k) => `<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`).join('');
        return sendXml(res, 200, `<?xml version="1.0" encoding="UTF-8"?>\n<DeleteResult>${deleted}</DeleteResult>`);
      }
      throw new S3Error(501, 'NotImplemented', `bucket operation ${method} ?${rawQuery} is not in the fake`);
    }

    if (method === 'POST' && 'uploads' in q) {
      log.op = 'CreateMultipartUpload';
      await readPayload(req, sig);
      const uploadId = randomUUID().replace(/-/g, '');
      const contentType = String(req.headers['content-type'] ?? 'binary/octet-stream');
      uploads.set(uploadId, { key, contentType, metadata: metaOf(req), parts: new Map() });
      return sendXml(
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><Bucket>${xmlEscape(bucketName)}</Bucket>` +
          `<Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
      );
    }
    if (q.uploadId !== undefined) {
      const up = uploads.get(q.uploadId);
      if (!up || up.key !== key) throw new S3Error(404, 'NoSuchUpload', 'The specified upload does not exist.');
      if (method === 'PUT') {
        log.op = 'UploadPart';
        const n = Number(q.partNumber);
        if (!Number.isInteger(n) || n < 1 || n > 10000) throw new S3Error(400, 'InvalidArgument', 'bad partNumber');
        const { bytes } = await readPayload(req, sig);
        const etag = md5Etag(bytes);
        up.parts.set(n, { body: bytes, etag });
        return void res.writeHead(200, { etag }).end();
      }
      if (method === 'DELETE') {
        log.op = 'AbortMultipartUpload';
        uploads.delete(q.uploadId);
        return void res.writeHead(204).end();
      }
      if (method === 'POST') {
        log.op = 'CompleteMultipartUpload';
        const body = (await readPayload(req, sig)).bytes.toString('utf8');
        const listed = blocks(body, 'Part').map((p) => ({ n: Number(tag(p, 'PartNumber')), etag: tag(p, 'ETag') }));
        if (listed.length === 0) throw new S3Error(400, 'MalformedXML', 'no parts listed');
        const chosen = listed.map(({ n, etag }, i) => {
          const part = up.parts.get(n);
          if (!part || part.etag !== etag)
            throw new S3Error(400, 'InvalidPart', `part ${n} was not uploaded or its ETag differs`);
          if (i > 0 && n <= listed[i - 1]!.n)
            throw new S3Error(400, 'InvalidPartOrder', 'parts must be in ascending order');
          if (i < listed.length - 1 && part.body.length < minPart)
            throw new S3Error(
              400,
              'EntityTooSmall',
              'Your proposed upload is smaller than the minimum allowed object size.',
            );
          return part;
        });
        const whole = Buffer.concat(chosen.map((p) => p.body));
        const digest = createHash('md5');
        for (const p of chosen) digest.update(Buffer.from(p.etag.slice(1, -1), 'hex'));
        const etag = `"${digest.digest('hex')}-${chosen.length}"`;
        // The object appears only now, whole: readers never see a partial multipart object.
        bucket.set(key, {
          body: whole,
          contentType: up.contentType,
          metadata: up.metadata,
          etag,
          lastModified: new Date(),
        });
        uploads.delete(q.uploadId);
        return sendXml(
          res,
          200,
          `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Location>http://${req.headers.host}/${bucketName}/${xmlEscape(key)}</Location>` +
            `<Bucket>${xmlEscape(bucketName)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(etag)}</ETag></CompleteMultipartUploadResult>`,
        );
      }
    }

    if (method === 'PUT' && req.headers['x-amz-copy-source']) {
      log.op = 'CopyObject';
      await readPayload(req, sig);
      const src = decodeURIComponent(String(req.headers['x-amz-copy-source']).replace(/^\//, ''));
      const slash = src.indexOf('/');
      const from = buckets.get(src.slice(0, slash))?.get(src.slice(slash + 1));
      if (!from) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
      const replace = req.headers['x-amz-metadata-directive'] === 'REPLACE';
      const copy: S3Object = {
        body: from.body,
        contentType: replace ? String(req.headers['content-type'] ?? 'binary/octet-stream') : from.contentType,
        metadata: replace ? metaOf(req) : { ...from.metadata },
        etag: from.etag,
        lastModified: new Date(),
      };
      bucket.set(key, copy);
      return sendXml(
        res,
        200,
        `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><LastModified>${copy.lastModified.toISOString()}</LastModified>` +
          `<ETag>${xmlEscape(copy.etag)}</ETag></CopyObjectResult>`,
      );
    }
    if (method === 'PUT') {
      log.op = 'PutObject';
      const { bytes } = await readPayload(req, sig);
      const etag = md5Etag(bytes);
      const contentType = String(req.headers['content-type'] ?? 'binary/octet-stream');
      bucket.set(key, { body: bytes, contentType, metadata: metaOf(req), etag, lastModified: new Date() });
      return void res.writeHead(200, { etag }).end();
    }
    if (method === 'GET' || method === 'HEAD') {
      log.op = method === 'GET' ? 'GetObject' : 'HeadObject';
      const o = bucket.get(key);
      if (!o) {
        if (method === 'HEAD') return void res.writeHead(404).end(); // HEAD answers carry no body
        throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
      }
      res.writeHead(200, objectHeaders(o));
      return void res.end(method === 'GET' ? o.body : undefined);
    }
    if (method === 'DELETE') {
      log.op = 'DeleteObject';
      bucket.delete(key);
      return void res.writeHead(204).end();
    }
    throw new S3Error(501, 'NotImplemented', `${method} on an object is not in the fake`);
  }

  function listV2(
    bucket: Map<string, S3Object>,
    bucketName: string,
    q: Record<string, string>,
    res: ServerResponse,
    log: S3RequestLog,
  ): void {
    log.op = 'ListObjectsV2';
    const prefix = q.prefix ?? '';
    const max = Math.min(Number(q['max-keys'] ?? 1000), 1000);
    // The token is opaque to clients; here it is the last key returned, and listing resumes after it.
    const after = q['continuation-token']
      ? Buffer.from(q['continuation-token'], 'base64url').toString('utf8')
      : (q['start-after'] ?? '');
    const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const contents = page
      .map((k) => {
        const o = bucket.get(k)!;
        return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><ETag>${xmlEscape(o.etag)}</ETag><Size>${o.body.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
      })
      .join('');
    const next = truncated
      ? `<NextContinuationToken>${Buffer.from(page.at(-1)!).toString('base64url')}</NextContinuationToken>`
      : '';
    const token = q['continuation-token']
      ? `<ContinuationToken>${xmlEscape(q['continuation-token'])}</ContinuationToken>`
      : '';
    sendXml(
      res,
      200,
      `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucketName)}</Name>` +
        `<Prefix>${xmlEscape(prefix)}</Prefix>${token}<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys>` +
        `<IsTruncated>${truncated}</IsTruncated>${contents}${next}</ListBucketResult>`,
    );
  }

  const server = createServer((req, res) => {
    const log: S3RequestLog = {
      method: req.method ?? '',
      path: (req.url ?? '').split('?')[0]!,
      query: {},
      op: '?',
      status: 0,
      payload: String(req.headers['x-amz-content-sha256'] ?? '').replace(/^[0-9a-f]{64}$/, 'sha256'),
    };
    requests.push(log);
    res.on('finish', () => (log.status = res.statusCode));
    handle(req, res, log).catch((err: unknown) => {
      const e = err instanceof S3Error ? err : new S3Error(500, 'InternalError', 'We encountered an internal error.');
      if (!(err instanceof S3Error)) console.error('s3 fake:', err);
      if (res.headersSent) return void res.destroy();
      // Drain what is left of the body so the client reads the answer instead of a reset.
      req.resume();
      if (req.method === 'HEAD') return void res.writeHead(e.status).end();
      sendXml(res, e.status, errorXml(e.code, e.message, req.url ?? '', randomUUID()));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const first = buckets.get(opts.buckets[0]!)!;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    objects: first,
    bucket: (name) => {
      const b = buckets.get(name);
      if (!b) throw new Error(`the fake has no bucket ${name}`);
      return b;
    },
    requests,
    openUploads: () => uploads.size,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

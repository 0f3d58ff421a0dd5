// FAKE (helpers of s3-server.ts, which stands in for Amazon S3 / MinIO): AWS Signature V4 verification of the
// header-signed requests the @aws-sdk client sends, aws-chunked body decoding (signed and unsigned-with-trailer
// streams), trailing checksum checks, and the S3 error XML. Computed from the spec, not with the SDK's signer.
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { crc32 } from 'node:zlib';

export class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const xmlEscape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
export const xmlUnescape = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&amp;/g, '&');

export function errorXml(code: string, message: string, resource: string, requestId: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>` +
    `<Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`
  );
}

export async function readRaw(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > limit) throw new S3Error(400, 'EntityTooLarge', 'request body too large for the fake');
    parts.push(c as Buffer);
  }
  return Buffer.concat(parts);
}

const sha256Hex = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 canonicalizes query strings. */
function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface SignatureContext {
  signingKey: Buffer;
  seedSignature: string;
  amzDate: string;
  scope: string;
}

/**
 * Checks the Authorization header against the request as received; S3 signs the path as sent (no double
 * encoding), the sorted query, the listed headers and x-amz-content-sha256. Throws S3Error like real S3.
 */
export function verifySigV4(
  req: IncomingMessage,
  rawPath: string,
  rawQuery: string,
  creds: { accessKeyId: string; secretAccessKey: string },
  now: Date,
): SignatureContext {
  const auth = req.headers.authorization;
  if (!auth) throw new S3Error(403, 'AccessDenied', 'Access Denied');
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) throw new S3Error(400, 'AuthorizationHeaderMalformed', 'The authorization header is malformed');
  const [, keyId, day, region, signedHeaders, signature] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (keyId !== creds.accessKeyId)
    throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const t = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!t || !amzDate.startsWith(day)) throw new S3Error(403, 'AccessDenied', 'bad or missing x-amz-date');
  const when = Date.UTC(+t[1]!, +t[2]! - 1, +t[3]!, +t[4]!, +t[5]!, +t[6]!);
  if (Math.abs(now.getTime() - when) > 15 * 60_000)
    throw new S3Error(
      403,
      'RequestTimeTooSkewed',
      'The difference between the request time and the server time is too large.',
    );
  const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
  if (!payloadHash)
    throw new S3Error(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date') || !names.includes('x-amz-content-sha256'))
    throw new S3Error(403, 'AccessDenied', 'host, x-amz-date and x-amz-content-sha256 must be signed');
  const canonicalHeaders = names
    .map((n) => {
      const v = req.headers[n];
      const value = Array.isArray(v) ? v.join(',') : (v ?? '');
      return `${n}:${String(value).trim().replace(/\s+/g, ' ')}\n`;
    })
    .join('');
  const canonicalQuery = rawQuery
    ? rawQuery
        .split('&')
        .map((p) => {
          const i = p.indexOf('=');
          const k = decodeURIComponent(i < 0 ? p : p.slice(0, i));
          const v = i < 0 ? '' : decodeURIComponent(p.slice(i + 1).replace(/\+/g, '%20'));
          return [uriEncode(k), uriEncode(v)] as const;
        })
        .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join('&')
    : '';
  const canonical = [req.method, rawPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${region}/s3/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonical)].join('\n');
  const signingKey = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region), 's3'), 'aws4_request');
  const expected = hmac(signingKey, stringToSign).toString('hex');
  if (expected !== signature)
    throw new S3Error(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
    );
  return { signingKey, seedSignature: signature, amzDate, scope };
}

/** Body bytes and trailers of a request, after aws-chunked decoding and payload-hash checks. */
export interface DecodedBody {
  bytes: Buffer;
  trailers: Record<string, string>;
}

function decodeChunked(raw: Buffer, signed: SignatureContext | null): DecodedBody {
  const parts: Buffer[] = [];
  const trailers: Record<string, string> = {};
  let pos = 0;
  let prev = signed?.seedSignature ?? '';
  const emptyHash = sha256Hex('');
  for (;;) {
    const eol = raw.indexOf('\r\n', pos);
    if (eol < 0) throw new S3Error(400, 'IncompleteBody', 'aws-chunked body ends inside a chunk header');
    const header = raw.subarray(pos, eol).toString('latin1');
    const [sizeHex, ...ext] = header.split(';');
    const size = parseInt(sizeHex!, 16);
    if (!Number.isFinite(size)) throw new S3Error(400, 'InvalidChunkSizeError', `bad chunk header ${header}`);
    const data = raw.subarray(eol + 2, eol + 2 + size);
    if (data.length !== size) throw new S3Error(400, 'IncompleteBody', 'aws-chunked body ends inside a chunk');
    if (signed) {
      const sig = ext.find((e) => e.startsWith('chunk-signature='))?.slice('chunk-signature='.length);
      const sts = ['AWS4-HMAC-SHA256-PAYLOAD', signed.amzDate, signed.scope, prev, emptyHash, sha256Hex(data)].join(
        '\n',
      );
      const expected = hmac(signed.signingKey, sts).toString('hex');
      if (sig !== expected) throw new S3Error(403, 'SignatureDoesNotMatch', 'chunk signature does not match');
      prev = expected;
    }
    pos = eol + 2 + size;
    if (size === 0) break;
    parts.push(data);
    if (raw.subarray(pos, pos + 2).toString() !== '\r\n')
      throw new S3Error(400, 'IncompleteBody', 'chunk data not followed by CRLF');
    pos += 2;
  }
  // Trailer lines (name:value) up to the empty line.
  for (const line of raw.subarray(pos).toString('latin1').split('\r\n')) {
    if (!line) continue;
    const i = line.indexOf(':');
    if (i > 0) trailers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { bytes: Buffer.concat(parts), trailers };
}

export function checksumOf(name: string, bytes: Buffer): string | null {
  switch (name) {
    case 'x-amz-checksum-crc32': {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(crc32(bytes) >>> 0);
      return b.toString('base64');
    }
    case 'x-amz-checksum-sha256':
      return createHash('sha256').update(bytes).digest('base64');
    case 'x-amz-checksum-sha1':
      return createHash('sha1').update(bytes).digest('base64');
    default:
      return null; // crc32c / crc64nvme: not checked by the fake
  }
}

/** Reads the body, decodes aws-chunked framing and checks every hash the request claims (as S3 does). */
export async function readPayload(req: IncomingMessage, sig: SignatureContext): Promise<DecodedBody> {
  const raw = await readRaw(req);
  const claimed = String(req.headers['x-amz-content-sha256']);
  let body: DecodedBody;
  if (claimed.startsWith('STREAMING-')) {
    const signed =
      claimed === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' || claimed === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
    if (!signed && claimed !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER')
      throw new S3Error(400, 'InvalidArgument', `unsupported x-amz-content-sha256 ${claimed}`);
    body = decodeChunked(raw, signed ? sig : null);
    const decoded = req.headers['x-amz-decoded-content-length'];
    if (decoded === undefined)
      throw new S3Error(411, 'MissingContentLength', 'x-amz-decoded-content-length is required');
    if (Number(decoded) !== body.bytes.length)
      throw new S3Error(
        400,
        'IncompleteBody',
        'You did not provide the number of bytes specified by the Content-Length HTTP header',
      );
  } else {
    body = { bytes: raw, trailers: {} };
    if (claimed !== 'UNSIGNED-PAYLOAD' && claimed !== sha256Hex(raw))
      throw new S3Error(
        400,
        'XAmzContentSHA256Mismatch',
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
  }
  const all: Record<string, string> = { ...body.trailers };
  for (const [k, v] of Object.entries(req.headers))
    if (k.startsWith('x-amz-checksum-') && k !== 'x-amz-checksum-type') all[k] = String(v);
  for (const [name, value] of Object.entries(all)) {
    const actual = checksumOf(name, body.bytes);
    if (actual !== null && actual !== value)
      throw new S3Error(
        400,
        'BadDigest',
        `The ${name.slice('x-amz-checksum-'.length).toUpperCase()} you specified did not match the calculated checksum.`,
      );
  }
  const md5 = req.headers['content-md5'];
  if (md5 && createHash('md5').update(body.bytes).digest('base64') !== md5)
    throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
  return body;
}

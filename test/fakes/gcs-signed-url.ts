// Checks a v4-signed (GOOG4-RSA-SHA256) XML-API URL the way Cloud Storage does: expiry, then the signature
// over the canonical request, against the public key of the service account that signed it.
import { createHash, createVerify, type KeyObject } from 'node:crypto';
import { HttpError } from './gcs-wire.ts';

/** Throws the HttpError Cloud Storage would answer with if the signed URL is expired or its signature is wrong. */
export function verifySignedUrl(
  publicKey: KeyObject,
  method: string,
  path: string,
  q: URLSearchParams,
  host: string,
): void {
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

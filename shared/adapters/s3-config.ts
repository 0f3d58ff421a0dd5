// The S3 store as configured (S3_* settings of BaseConfig): the client, the store, and the start-up check that
// turns a wrong endpoint, bucket or key into one clear sentence (never the secret, never a stack of SDK internals).
import { createHash } from 'node:crypto';
import { S3Client, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Logger } from '../core/logger.ts';
import type { BlobStore } from '../core/ports.ts';
import { createS3BlobStore } from './s3.ts';

export interface S3Settings {
  S3_BUCKET?: string;
  S3_ENDPOINT?: string;
  S3_REGION: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
  S3_FORCE_PATH_STYLE: boolean;
}

export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

/**
 * Content-MD5 on DeleteObjects. The SDK sends only an x-amz-checksum-* header there now, which AWS accepts but
 * several S3-compatible stores refuse (MissingContentMD5); every store accepts Content-MD5.
 */
function deleteObjectsContentMd5(client: S3Client): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { query?: Record<string, unknown>; headers?: Record<string, string>; body?: unknown };
      if (req.query && 'delete' in req.query && req.headers && !req.headers['content-md5']) {
        const body = req.body;
        if (typeof body === 'string' || body instanceof Uint8Array)
          req.headers['content-md5'] = createHash('md5').update(body).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'htbaseDeleteObjectsContentMd5', priority: 'low' },
  );
}

export function s3ClientFor(config: S3Settings): S3Client {
  const client = new S3Client({
    region: config.S3_REGION,
    // Other vendors' stores: checksums only where the API requires them. The newer defaults (aws-chunked bodies
    // with trailing CRC32s) are refused by some of them; the store sends Content-MD5 and signed sha256 instead.
    ...(config.S3_ENDPOINT
      ? { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }
      : {}),
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
      : {}),
    maxAttempts: 3,
    // Bounded sockets: a silent endpoint fails the call instead of hanging a worker.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
  deleteObjectsContentMd5(client);
  return client;
}

export function s3StoreFor(config: S3Settings & { S3_BUCKET: string }, logger: Logger): BlobStore {
  return createS3BlobStore({ client: s3ClientFor(config), bucket: config.S3_BUCKET, logger });
}

/** Why the S3 store cannot be used, in words an operator can act on; the SDK error stays in `cause`. */
function explain(err: unknown, config: S3Settings): string {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const where = config.S3_ENDPOINT ?? `AWS S3 (${config.S3_REGION})`;
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (name === 'InvalidAccessKeyId') return `${where} does not know the access key S3_ACCESS_KEY_ID`;
  if (name === 'SignatureDoesNotMatch') return `${where} refused the signature: S3_SECRET_ACCESS_KEY is wrong`;
  if (name === 'CredentialsProviderError' || (/credential/i.test(String((err as Error)?.message ?? '')) && !status))
    return 'no S3 credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY (or the AWS SDK default chain)';
  if (name === 'NoSuchBucket') return `bucket ${config.S3_BUCKET} does not exist at ${where}`;
  if (name === 'AccessDenied' || status === 403) return `${where} denies listing bucket ${config.S3_BUCKET}`;
  const code = e?.code ?? (err as { cause?: { code?: string } })?.cause?.code;
  if (code && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH)$/.test(code))
    return `cannot reach ${where} (${code})`;
  if (name === 'TimeoutError') return `${where} did not answer in time`;
  return `${where} answered ${status ?? 'an error'} (${name || 'unknown'}) for bucket ${config.S3_BUCKET}`;
}

/**
 * Lists one key of the bucket: the one call that proves endpoint, credentials, signature and bucket together
 * (and the permission deletePrefix needs). Throws StorageUnavailableError with a sentence naming the setting.
 */
export async function checkS3Store(config: S3Settings & { S3_BUCKET: string }, client = s3ClientFor(config)) {
  try {
    await client.send(new ListObjectsV2Command({ Bucket: config.S3_BUCKET, MaxKeys: 1 }), {
      abortSignal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new StorageUnavailableError(`S3 artifact store unavailable: ${explain(err, config)}`, { cause: err });
  }
}

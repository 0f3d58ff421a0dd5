// Tamper evidence: every succeeded artifact's bytes in storage, hashed again and compared with the sha256 and
// size recorded when it was stored. `htbase verify` runs it; each mismatch and missing object is reported.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/types.ts';
import { NotFoundError, type BlobStore } from '../core/ports.ts';

export interface VerifyResult {
  articleId: string;
  format: string;
  key: string;
  outcome: 'ok' | 'mismatch' | 'missing' | 'unreadable';
  expected: { sha256: string | null; size: number | null };
  actual?: { sha256: string; size: number };
  error?: string;
}

/** Streams every artifact once (bounded memory); `onResult` sees each outcome as it is known. */
export async function verifyArtifacts(deps: {
  db: Kysely<Database>;
  blobs: BlobStore;
  onResult?: (r: VerifyResult) => void;
  signal?: AbortSignal;
}): Promise<{ checked: number; ok: number; problems: VerifyResult[] }> {
  const problems: VerifyResult[] = [];
  let checked = 0;
  let lastId = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await deps.db
      .selectFrom('artifacts')
      .select(['id', 'article_id', 'format', 'storage_key', 'sha256', 'size_bytes'])
      .where('status', '=', 'succeeded')
      .where('storage_key', 'is not', null)
      .where('id', '>', lastId)
      .orderBy('id')
      .limit(200)
      .execute();
    if (page.length === 0) break;
    for (const a of page) {
      deps.signal?.throwIfAborted();
      const r = await verifyOne(deps.blobs, a);
      checked++;
      if (r.outcome !== 'ok') problems.push(r);
      deps.onResult?.(r);
    }
    lastId = page[page.length - 1]!.id;
  }
  return { checked, ok: checked - problems.length, problems };
}

async function verifyOne(
  blobs: BlobStore,
  a: {
    article_id: string;
    format: string;
    storage_key: string | null;
    sha256: string | null;
    size_bytes: number | null;
  },
): Promise<VerifyResult> {
  const base = {
    articleId: a.article_id,
    format: a.format,
    key: a.storage_key!,
    expected: { sha256: a.sha256, size: a.size_bytes === null ? null : Number(a.size_bytes) },
  };
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of await blobs.get(a.storage_key!)) {
      size += (chunk as Buffer).length;
      hash.update(chunk as Buffer);
    }
    const actual = { sha256: hash.digest('hex'), size };
    const same = actual.sha256 === a.sha256 && (base.expected.size === null || actual.size === base.expected.size);
    return { ...base, outcome: same ? 'ok' : 'mismatch', actual };
  } catch (err) {
    if (err instanceof NotFoundError) return { ...base, outcome: 'missing' };
    return { ...base, outcome: 'unreadable', error: (err as Error).message };
  }
}

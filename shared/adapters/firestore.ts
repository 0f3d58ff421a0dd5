// ReplicaWriter on Firestore: `articles/{id}` follows Postgres, written only when the incoming version
// is newer. Optimistic concurrency (read, then a create or an update preconditioned on the read's
// update time) instead of transactions, which contend badly on one document.
import { FieldValue, Timestamp, type DocumentData, type Firestore } from '@google-cloud/firestore';
import type { ArticleReplicaDoc, ReplicaWriter } from '../core/ports.ts';
import { TransientError } from '../core/errors.ts';
import { silentLogger, type Logger } from '../core/logger.ts';

export interface FirestoreReplicaOptions {
  firestore: Firestore;
  /** Default 'articles'. */
  collection?: string;
  /** Read-compare-write rounds before giving up with TransientError (the message is then redelivered). Default 8. */
  maxAttempts?: number;
  /** Tombstones carry `expireAt` this far ahead, for a Firestore TTL policy on that field. Default 30 days. */
  tombstoneTtlDays?: number;
  logger?: Logger;
}

const ALREADY_EXISTS = 6;
const FAILED_PRECONDITION = 9;

function code(err: unknown): number | undefined {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'number' ? c : undefined;
}

/** The document body for an article; timestamps become Firestore Timestamps so clients can order by them. */
function toFirestoreData(doc: ArticleReplicaDoc): DocumentData {
  return {
    id: doc.id,
    version: doc.version,
    ownerUid: doc.ownerUid,
    url: doc.url,
    finalUrl: doc.finalUrl,
    status: doc.status,
    title: doc.title,
    artifacts: doc.artifacts,
    summary: doc.summary,
    createdAt: Timestamp.fromDate(new Date(doc.createdAt)),
    updatedAt: Timestamp.fromDate(new Date(doc.updatedAt)),
    deleted: doc.deleted ?? false,
  };
}

export function createFirestoreReplica(opts: FirestoreReplicaOptions): ReplicaWriter {
  const col = opts.firestore.collection(opts.collection ?? 'articles');
  const maxAttempts = opts.maxAttempts ?? 8;
  const ttlMs = (opts.tombstoneTtlDays ?? 30) * 86_400_000;
  const log = (opts.logger ?? silentLogger()).child({ component: 'firestore-replica' });

  /** Replaces the document with `data` if `version` is newer than the stored one. */
  async function writeIfNewer(id: string, version: number, data: () => DocumentData): Promise<'written' | 'stale'> {
    const ref = col.doc(id);
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const snap = await ref.get();
      if (!snap.exists) {
        try {
          await ref.create(data());
          return 'written';
        } catch (err) {
          if (code(err) !== ALREADY_EXISTS) throw err;
          continue; // someone created it between our read and write: compare again
        }
      }
      const stored = snap.get('version');
      if (typeof stored === 'number' && stored >= version) return 'stale';
      // update() only touches the fields it names: delete the ones the new body no longer has.
      const body = data();
      for (const k of Object.keys(snap.data() ?? {})) if (!(k in body)) body[k] = FieldValue.delete();
      try {
        await ref.update(body, { lastUpdateTime: snap.updateTime! });
        return 'written';
      } catch (err) {
        if (code(err) !== FAILED_PRECONDITION) throw err;
        log.debug({ articleId: id, version, attempt }, 'replica write raced, retrying');
      }
    }
    throw new TransientError(
      'replica_contention',
      `articles/${id} v${version}: still contended after ${maxAttempts} attempts`,
    );
  }

  return {
    write: (doc) => writeIfNewer(doc.id, doc.version, () => toFirestoreData(doc)),
    // A tombstone, not a delete: a late, older write must still find a newer version and stop.
    remove: (id, version) =>
      writeIfNewer(id, version, () => ({
        id,
        version,
        deleted: true,
        deletedAt: FieldValue.serverTimestamp(),
        expireAt: Timestamp.fromMillis(Date.now() + ttlMs),
      })),
  };
}

// The ports every deployable depends on. Adapters (local disk, in-process, GCS, Pub/Sub, Firestore,
// Redis, Gemini, extractive) implement them; a plain `deps` object wires them together.
import type { Readable } from 'node:stream';
import type { TopicName, TopicPayloads } from './messages.ts';

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

// ---------- storage ----------
export interface PutOptions {
  contentType: string;
  /** Object metadata: articleId, format (sha256 is added by the store once the bytes are hashed). */
  metadata: Record<string, string>;
  /** Fail with PermanentError('too_large') once more than this many bytes arrive. */
  maxBytes?: number;
  signal?: AbortSignal;
}
export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
  contentType: string;
}
export interface ObjectInfo {
  key: string;
  size: number;
  contentType: string;
  metadata: Record<string, string>;
}
export interface BlobStore {
  /** Streams the body to `key`, hashing it on the way; the object appears only once complete. */
  put(key: string, body: Readable | Buffer | string, opts: PutOptions): Promise<StoredObject>;
  /** The object's bytes; throws NotFoundError when absent. */
  get(key: string): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo | null>;
  deletePrefix(prefix: string): Promise<number>;
  /** A time-limited URL for direct download (cloud stores); undefined when the store streams itself. */
  signedUrl?(key: string, opts: { expiresInSeconds: number; downloadName?: string }): Promise<string>;
}
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

/** What Eventarc (or the local store) tells summarize when an object is finalized. */
export interface ObjectFinalized {
  eventId: string;
  bucket: string;
  name: string;
  contentType?: string;
  size: number;
  metadata: Record<string, string>;
  time: string;
}

// ---------- messaging ----------
export interface Publisher {
  /** Publishes JSON `data` to `topic`; resolves with the message id once the broker has it. */
  publish<T extends TopicName>(topic: T, data: TopicPayloads[T], attributes?: Record<string, string>): Promise<string>;
}

/** Cloud Tasks role: named tasks (duplicates collapse), dispatched at the queue's rate. */
export interface TaskQueue {
  enqueue(task: { name: string; payload: unknown }): Promise<'created' | 'duplicate'>;
}

// ---------- replica ----------
export interface ArticleReplicaDoc {
  id: string;
  version: number;
  /** The owner's Firebase uid: the rules let only that signed-in person read the document (null: nobody). */
  ownerUid: string | null;
  url: string;
  finalUrl: string | null;
  status: string;
  title: string | null;
  artifacts: Record<string, { status: string; sizeBytes: number | null; errorCode: string | null }>;
  summary: {
    provider: string;
    model: string | null;
    summary: string;
    keyPoints: string[];
    tags: string[];
    lang: string | null;
  } | null;
  createdAt: string;
  updatedAt: string;
  deleted?: boolean;
}
export interface ReplicaWriter {
  /** Writes the document only if `doc.version` is newer than the stored one. */
  write(doc: ArticleReplicaDoc): Promise<'written' | 'stale'>;
  remove(id: string, version: number): Promise<'written' | 'stale'>;
}

// ---------- summaries ----------
export interface SummaryInput {
  articleId: string;
  title: string | null;
  text: string;
  lang: string | null;
}
export interface SummaryResult {
  provider: 'gemini' | 'extractive';
  model: string | null;
  summary: string;
  keyPoints: string[];
  tags: string[];
  lang: string | null;
  inputTokens?: number | null;
  outputTokens?: number | null;
}
export interface Summarizer {
  readonly provider: 'gemini' | 'extractive';
  summarize(input: SummaryInput, signal?: AbortSignal): Promise<SummaryResult>;
}

// ---------- coordination (Redis in the cloud, memory when embedded) ----------
export interface RateLimiter {
  /** Counts one hit for `key`; `allowed: false` with the seconds to wait once over `limit` per window. */
  hit(key: string, limit: number, windowSeconds: number): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}
/** Caps concurrent work per key (per target host) across every worker instance. */
export interface HostLimiter {
  acquire(host: string, signal?: AbortSignal): Promise<() => Promise<void>>;
}

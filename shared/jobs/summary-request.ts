// Requesting a summary: read the article's readable text, compare its sha256 with the stored summary, and
// enqueue one named summary task (the summarize function runs it). The one owner of the task's name and
// payload, shared by the enqueuers: functions/summarize (finalized events) and the API (POST .../summary).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../db/types.ts';
import { findArticle } from '../db/articles.ts';
import { findSummary, findSummaryFailure } from '../db/summaries.ts';
import { PermanentError } from '../core/errors.ts';
import { storageKey } from '../core/formats.ts';
import type { Logger } from '../core/logger.ts';
import { SummaryTaskV1, type SummaryTask } from '../core/messages.ts';
import { NotFoundError, systemClock, type BlobStore, type Clock, type TaskQueue } from '../core/ports.ts';

/** readable.json is JSON of one article's text: anything larger is refused rather than buffered. */
export const MAX_READABLE_BYTES = 32 * 1024 * 1024;

/** What the browser worker writes as readable.json; only the text matters here. */
const ReadableJson = z.object({
  title: z.string().nullish(),
  byline: z.string().nullish(),
  lang: z.string().nullish(),
  text: z.string(),
});
export type ReadableDoc = z.infer<typeof ReadableJson>;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Cloud Tasks names allow [A-Za-z0-9_-]; the hash comes first because names with a sequential
 * prefix concentrate load on one part of the queue's index.
 */
export function summaryTaskName(articleId: string, inputSha256: string, suffix?: string): string {
  return `${inputSha256.slice(0, 32)}-${articleId}${suffix ? `-${suffix}` : ''}`;
}

/** The task's payload, validated here so that no enqueuer can send one the handler would refuse. */
export function summaryTask(
  clock: Clock,
  articleId: string,
  inputSha256: string,
  force: boolean,
  reason: SummaryTask['reason'],
): SummaryTask {
  return SummaryTaskV1.parse({ v: 1, articleId, inputSha256, force, reason, requestedAt: clock.now().toISOString() });
}

/** The current readable text of an article; null when the object is gone (article deleted). */
export async function readReadable(
  blobs: BlobStore,
  articleId: string,
  maxBytes = MAX_READABLE_BYTES,
): Promise<ReadableDoc | null> {
  let stream: Readable;
  try {
    stream = await blobs.get(storageKey(articleId, 'readable'));
  } catch (err) {
    if (err instanceof NotFoundError) return null;
    throw err;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of stream) {
    size += (c as Buffer).length;
    if (size > maxBytes) {
      stream.destroy();
      throw new PermanentError('readable_too_large', `readable.json exceeds ${maxBytes} bytes`);
    }
    chunks.push(c as Buffer);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new PermanentError('readable_invalid', 'readable.json is not JSON');
  }
  const parsed = ReadableJson.safeParse(json);
  if (!parsed.success) throw new PermanentError('readable_invalid', 'readable.json has no text');
  return parsed.data;
}

export interface SummaryRequestDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  tasks: TaskQueue;
  logger: Logger;
  clock?: Clock;
  maxReadableBytes?: number;
}

export interface SummaryRequester {
  /** Throws PermanentError `not_found` (no article) or `readable_missing` (no text yet). */
  request(articleId: string, opts: { force: boolean }): Promise<'dispatched' | 'duplicate' | 'unchanged'>;
}

export function createSummaryRequester(deps: SummaryRequestDeps): SummaryRequester {
  const { db, blobs, tasks } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ component: 'summarize' });
  return {
    async request(articleId, { force }) {
      const article = await findArticle(db, articleId);
      if (!article) throw new PermanentError('not_found', 'no such article');
      const doc = await readReadable(blobs, articleId, deps.maxReadableBytes);
      if (!doc) throw new PermanentError('readable_missing', 'the article has no readable text yet');
      const sha = sha256Hex(doc.text);
      if (!force && (await findSummary(db, articleId))?.input_sha256 === sha) return 'unchanged';
      // Same text: the same name collapses repeated requests. After a recorded failure a plain request
      // may try once more (named after that failure); `force` always makes a new task.
      const failure = force ? undefined : await findSummaryFailure(db, articleId);
      const suffix = force
        ? `f${clock.now().getTime()}`
        : failure?.input_sha256 === sha
          ? `r${new Date(failure.created_at).getTime()}`
          : undefined;
      const r = await tasks.enqueue({
        name: summaryTaskName(articleId, sha, suffix),
        payload: summaryTask(clock, articleId, sha, force, 'request'),
      });
      log.info({ articleId, force, outcome: r }, 'summary requested');
      return r === 'created' ? 'dispatched' : 'duplicate';
    },
  };
}

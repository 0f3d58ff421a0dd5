// The summarize service: turns a readable.json finalized event (or an explicit request) into one named
// task, and runs that task: read the text, skip if already summarized, summarize, store, bump, publish.
// Cloud (Eventarc + Cloud Tasks) and embedded (local store + in-process queue) share this code.
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../shared/db/types.ts';
import { findArticle, touchArticle } from '../../shared/db/articles.ts';
import { isEventProcessed, markEventProcessed } from '../../shared/db/events.ts';
import { PermanentError, errorCode, isPermanent } from '../../shared/core/errors.ts';
import { parseStorageKey, storageKey } from '../../shared/core/formats.ts';
import type { Logger } from '../../shared/core/logger.ts';
import { SummaryTaskV1, type SummaryTask } from '../../shared/core/messages.ts';
import { announceChange } from '../../shared/jobs/article-changed.ts';
import {
  NotFoundError,
  systemClock,
  type BlobStore,
  type Clock,
  type ObjectFinalized,
  type Publisher,
  type Summarizer,
  type SummaryResult,
  type TaskQueue,
} from '../../shared/core/ports.ts';
import {
  clearSummaryFailure,
  findSummary,
  findSummaryFailure,
  recordSummaryFailure,
  upsertSummary,
} from '../../shared/db/summaries.ts';

export interface SummarizeServiceDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  tasks: TaskQueue;
  summarizer: Summarizer;
  /** Runs (extractive) when the summarizer fails for good; unset records the failure only. */
  fallback?: Summarizer;
  publisher: Publisher;
  logger: Logger;
  clock?: Clock;
  /** readable.json larger than this is refused (it is JSON of one article's text). */
  maxReadableBytes?: number;
}

export interface RunTaskOptions {
  /** This is the queue's last attempt: a transient failure is recorded (and falls back) instead of thrown. */
  finalAttempt?: boolean;
  signal?: AbortSignal;
}

export interface SummarizeService {
  onObjectFinalized(ev: ObjectFinalized): Promise<'dispatched' | 'ignored' | 'duplicate'>;
  runTask(payload: SummaryTask, opts?: RunTaskOptions): Promise<'stored' | 'unchanged' | 'failed'>;
  request(articleId: string, opts: { force: boolean }): Promise<'dispatched' | 'duplicate' | 'unchanged'>;
}

/** What the browser worker writes as readable.json; only the text matters here. */
const ReadableJson = z.object({
  title: z.string().nullish(),
  byline: z.string().nullish(),
  lang: z.string().nullish(),
  text: z.string(),
});
type ReadableDoc = z.infer<typeof ReadableJson>;

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

export function createSummarizeService(deps: SummarizeServiceDeps): SummarizeService {
  const { db, blobs, tasks, publisher } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ component: 'summarize' });
  const maxBytes = deps.maxReadableBytes ?? 32 * 1024 * 1024;

  /** The current readable text of an article; null when the object is gone (article deleted). */
  async function readReadable(articleId: string): Promise<ReadableDoc | null> {
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

  function task(articleId: string, inputSha256: string, force: boolean, reason: SummaryTask['reason']): SummaryTask {
    return SummaryTaskV1.parse({ v: 1, articleId, inputSha256, force, reason, requestedAt: clock.now().toISOString() });
  }

  async function publishChange(articleId: string): Promise<void> {
    const version = await touchArticle(db, articleId);
    if (version !== null) await announceChange({ publisher, logger: log }, { articleId, version });
  }

  async function store(articleId: string, sha: string, r: SummaryResult, clearFailure: boolean): Promise<void> {
    await upsertSummary(db, articleId, sha, r);
    if (clearFailure) await clearSummaryFailure(db, articleId);
  }

  return {
    async onObjectFinalized(ev) {
      const parsed = parseStorageKey(ev.name);
      if (!parsed || parsed.format !== 'readable') return 'ignored';
      const eventKey = `object-finalized:${ev.eventId}`;
      const ctx = { articleId: parsed.articleId, eventId: ev.eventId };
      if (await isEventProcessed(db, eventKey)) {
        log.info(ctx, 'finalized event already handled');
        return 'duplicate';
      }
      const article = await findArticle(db, parsed.articleId);
      const doc = article ? await readReadable(parsed.articleId) : null;
      if (!article || !doc) {
        log.info(ctx, 'finalized event for a deleted article ignored');
        await markEventProcessed(db, eventKey, 'object-finalized');
        return 'ignored';
      }
      const sha = sha256Hex(doc.text);
      let outcome: 'dispatched' | 'duplicate';
      const existing = await findSummary(db, parsed.articleId);
      if (existing?.input_sha256 === sha) {
        outcome = 'duplicate';
      } else {
        const r = await tasks.enqueue({
          name: summaryTaskName(parsed.articleId, sha),
          payload: task(parsed.articleId, sha, false, 'finalized'),
        });
        outcome = r === 'created' ? 'dispatched' : 'duplicate';
      }
      // Marked only after the task exists, so a crash in between is retried by Eventarc, and the
      // task name collapses the second dispatch.
      await markEventProcessed(db, eventKey, 'object-finalized');
      log.info({ ...ctx, outcome }, 'finalized event handled');
      return outcome;
    },

    async request(articleId, { force }) {
      const article = await findArticle(db, articleId);
      if (!article) throw new PermanentError('not_found', 'no such article');
      const doc = await readReadable(articleId);
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
        payload: task(articleId, sha, force, 'request'),
      });
      log.info({ articleId, force, outcome: r }, 'summary requested');
      return r === 'created' ? 'dispatched' : 'duplicate';
    },

    async runTask(payload, opts = {}) {
      const t = SummaryTaskV1.parse(payload);
      const ctx = { articleId: t.articleId, provider: deps.summarizer.provider };
      const article = await findArticle(db, t.articleId);
      if (!article) {
        log.info(ctx, 'summary task for a deleted article dropped');
        return 'unchanged';
      }
      let doc: ReadableDoc | null;
      try {
        doc = await readReadable(t.articleId);
      } catch (err) {
        if (!isPermanent(err)) throw err;
        await recordSummaryFailure(db, {
          articleId: t.articleId,
          provider: deps.summarizer.provider,
          model: null,
          code: err.code,
          message: err.message,
          inputSha256: t.inputSha256,
        });
        await publishChange(t.articleId);
        return 'failed';
      }
      if (!doc) {
        log.info(ctx, 'summary task for an article without readable text dropped');
        return 'unchanged';
      }
      const sha = sha256Hex(doc.text);
      if (!t.force && (await findSummary(db, t.articleId))?.input_sha256 === sha) {
        log.info(ctx, 'summary of this text already stored');
        return 'unchanged';
      }
      const input = {
        articleId: t.articleId,
        title: doc.title ?? article.title,
        text: doc.text,
        lang: doc.lang ?? article.lang,
      };
      const started = Date.now();
      try {
        const r = await deps.summarizer.summarize(input, opts.signal);
        await store(t.articleId, sha, r, true);
        await publishChange(t.articleId);
        log.info(
          {
            ...ctx,
            model: r.model,
            inputTokens: r.inputTokens,
            outputTokens: r.outputTokens,
            ms: Date.now() - started,
          },
          'summary stored',
        );
        return 'stored';
      } catch (err) {
        // A transient failure is the queue's to retry, except on its last attempt.
        if (!isPermanent(err) && !opts.finalAttempt) throw err;
        if (opts.signal?.aborted) throw err;
        const code = errorCode(err);
        const message = err instanceof Error ? err.message : String(err);
        log.warn({ ...ctx, code, err }, 'summary failed for good');
        await recordSummaryFailure(db, {
          articleId: t.articleId,
          provider: deps.summarizer.provider,
          model: null,
          code,
          message,
          inputSha256: sha,
        });
        if (deps.fallback) {
          const r = await deps.fallback.summarize(input, opts.signal);
          await store(t.articleId, sha, r, false);
          await publishChange(t.articleId);
          log.info({ ...ctx, fallback: r.provider, code }, 'fallback summary stored');
          return 'stored';
        }
        await publishChange(t.articleId);
        return 'failed';
      }
    },
  };
}

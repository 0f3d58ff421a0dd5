// The summarize service: turns a readable.json finalized event (or an explicit request) into one named
// task, and runs that task: read the text, skip if already summarized, summarize, store, bump, publish.
// Cloud (Eventarc + Cloud Tasks) and embedded (local store + in-process queue) share this code.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import { findArticle } from '../../shared/db/articles.ts';
import { bumpArticle } from '../../shared/db/transition.ts';
import { isEventProcessed, markEventProcessed } from '../../shared/db/events.ts';
import { errorCode, isPermanent } from '../../shared/core/errors.ts';
import { parseStorageKey } from '../../shared/core/formats.ts';
import type { Logger } from '../../shared/core/logger.ts';
import { SummaryTaskV1, type SummaryTask } from '../../shared/core/messages.ts';
import { announceChange } from '../../shared/jobs/article-changed.ts';
import {
  MAX_READABLE_BYTES,
  createSummaryRequester,
  readReadable as readReadableText,
  sha256Hex,
  summaryTask,
  summaryTaskName,
  type ReadableDoc,
  type SummaryRequester,
} from '../../shared/jobs/summary-request.ts';
import {
  systemClock,
  type BlobStore,
  type Clock,
  type ObjectFinalized,
  type Publisher,
  type Summarizer,
  type SummaryResult,
  type TaskQueue,
} from '../../shared/core/ports.ts';
import { clearSummaryFailure, findSummary, recordSummaryFailure, upsertSummary } from '../../shared/db/summaries.ts';

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

/** `request` is shared/jobs/summary-request.ts's, so the API (which cannot import this file) asks the same way. */
export interface SummarizeService extends SummaryRequester {
  onObjectFinalized(ev: ObjectFinalized): Promise<'dispatched' | 'ignored' | 'duplicate'>;
  runTask(payload: SummaryTask, opts?: RunTaskOptions): Promise<'stored' | 'unchanged' | 'failed'>;
}

export function createSummarizeService(deps: SummarizeServiceDeps): SummarizeService {
  const { db, blobs, tasks, publisher } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.logger.child({ component: 'summarize' });
  const maxBytes = deps.maxReadableBytes ?? MAX_READABLE_BYTES;
  const requester = createSummaryRequester({
    db,
    blobs,
    tasks,
    logger: deps.logger,
    clock,
    maxReadableBytes: maxBytes,
  });

  const readReadable = (articleId: string) => readReadableText(blobs, articleId, maxBytes);
  const task = (articleId: string, sha: string, force: boolean, reason: SummaryTask['reason']) =>
    summaryTask(clock, articleId, sha, force, reason);

  /**
   * Writes a summary change and bumps the version that announces it in one transaction, so no reader sees the
   * change at the version before it. The bump comes first: it takes the article's row lock (FOR UPDATE) before the
   * write's foreign-key check takes KEY SHARE, as every other change does, so two of them cannot deadlock on the
   * upgrade. A deleted article writes nothing: false.
   */
  async function commitChange(
    articleId: string,
    write: (trx: Transaction<Database>) => Promise<void>,
  ): Promise<boolean> {
    const t = await db.transaction().execute(async (trx) => {
      const bumped = await bumpArticle(trx, articleId);
      if (bumped) await write(trx);
      return bumped;
    });
    if (t) await announceChange({ publisher, logger: log }, { articleId, version: t.version });
    return t !== null;
  }

  const store = (articleId: string, sha: string, r: SummaryResult, clearFailure: boolean) =>
    commitChange(articleId, async (trx) => {
      await upsertSummary(trx, articleId, sha, r);
      if (clearFailure) await clearSummaryFailure(trx, articleId);
    });

  const fail = (articleId: string, f: Parameters<typeof recordSummaryFailure>[1]) =>
    commitChange(articleId, (trx) => recordSummaryFailure(trx, f));

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

    request: requester.request,

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
        await fail(t.articleId, {
          articleId: t.articleId,
          provider: deps.summarizer.provider,
          model: null,
          code: err.code,
          message: err.message,
          inputSha256: t.inputSha256,
        });
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
        if (!(await store(t.articleId, sha, r, true))) {
          log.info(ctx, 'article deleted while it was summarized: nothing stored');
          return 'unchanged';
        }
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
        const failure = {
          articleId: t.articleId,
          provider: deps.summarizer.provider,
          model: null,
          code,
          message,
          inputSha256: sha,
        };
        // The failure is kept even when the fallback's summary follows: it says why the summary is the fallback's.
        await fail(t.articleId, failure);
        if (deps.fallback) {
          const r = await deps.fallback.summarize(input, opts.signal);
          if (!(await store(t.articleId, sha, r, false))) return 'unchanged';
          log.info({ ...ctx, fallback: r.provider, code }, 'fallback summary stored');
          return 'stored';
        }
        return 'failed';
      }
    },
  };
}

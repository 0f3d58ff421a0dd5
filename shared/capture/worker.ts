// The capture worker's core, shared by the browser and monolith containers: decode the push message,
// claim each artifact (compare-and-set with a lease), run the engine once for every claimed format,
// store the bytes, record the outcome, and answer 2xx (done or failed for good) or 5xx (retry).
import type { Kysely } from 'kysely';
import type { Database } from '../db/types.ts';
import { updateArticleMeta, type ArticleMeta } from '../db/articles.ts';
import {
  addSucceededArtifact,
  claimArtifacts,
  markFailed,
  markSucceeded,
  releaseArtifact,
  renewLease,
} from '../db/artifacts.ts';
import type { Transition } from '../db/transition.ts';
import { BadMessage, CaptureJobV1, decodePush, type CaptureJob } from '../core/messages.ts';
import { announceChange } from '../jobs/article-changed.ts';
import { FORMAT_FILES, storageKey, type ArtifactFormat, type Format } from '../core/formats.ts';
import { PermanentError, isPermanent } from '../core/errors.ts';
import type { BlobStore, HostLimiter, Publisher, StoredObject } from '../core/ports.ts';
import type { Logger } from '../core/logger.ts';
import { checkUrl, type GuardOptions } from '../net/ssrf.ts';
import type { Readable } from 'node:stream';
import { isUploaded } from '../db/uploads.ts';
import type { CookieSource, SiteCookie } from '../cookies/types.ts';

export type EngineOutcome =
  { ok: true; stored: StoredObject; engineVersion?: string | null } | { ok: false; error: unknown; skip?: boolean };

export interface EngineResult {
  meta?: ArticleMeta;
  warnings?: string[];
  outcomes: Partial<Record<Format, EngineOutcome>>;
  /** Artifacts the engine found on its own (a non-HTML URL's `original`), recorded alongside. */
  extra?: Partial<Record<'original' | 'thumbnail', { stored: StoredObject }>>;
}

export interface CaptureRequest {
  articleId: string;
  url: URL;
  formats: Format[];
  signal: AbortSignal;
  logger: Logger;
  /** An uploaded page (POST /archives/upload): the engine renders these bytes offline and fetches nothing. */
  upload?: { html(): Promise<Buffer> };
  /** The owner's cookies that domain-match the target (logged-in capture). Secret: never logged or stored. */
  cookies?: SiteCookie[];
  /** Streams one format's bytes to storage under its key, with metadata and the size cap. */
  store(format: ArtifactFormat, body: Readable | Buffer | string, contentType?: string): Promise<StoredObject>;
  /**
   * Records one stored format as succeeded at once, while the engine goes on with the others (issue 17: an
   * artifact is ready as soon as it is stored, not when the last step ends). A format recorded here is left out of
   * the final pass; the engine keeps at least one format for that pass, which comes after the article's metadata.
   */
  record?(format: Format, outcome: Extract<EngineOutcome, { ok: true }>): Promise<void>;
  /**
   * Writes the article's metadata at once, while the engine goes on (issue 17: the final pass then has only the last
   * format's record, and the warnings).
   * An engine that wrote it here leaves it out of its result; when this throws, the result carries it.
   */
  recordMeta?(meta: ArticleMeta): Promise<void>;
  /** Records an artifact the engine made on its own (the thumbnail) at once; one recorded here is left out of `extra`. */
  recordExtra?(name: 'thumbnail', stored: StoredObject): Promise<void>;
}

export interface CaptureEngine {
  readonly name: string;
  readonly formats: readonly Format[];
  capture(req: CaptureRequest): Promise<EngineResult>;
}

export interface CaptureWorkerDeps {
  db: Kysely<Database>;
  blobs: BlobStore;
  publisher: Publisher;
  hostLimiter?: HostLimiter;
  engine: CaptureEngine;
  logger: Logger;
  guard: GuardOptions;
  leaseSeconds: number;
  captureTimeoutMs: number;
  maxArtifactBytes: number;
  /** Per-user cookies for logged-in capture (shared/cookies); absent: captures are anonymous. */
  cookies?: CookieSource;
}

export interface PushOutcome {
  status: number;
  detail: string;
}

export function createCaptureWorker(deps: CaptureWorkerDeps) {
  const log = deps.logger.child({ component: `worker-${deps.engine.name}` });
  const inFlight = new Set<AbortController>();

  async function changed(articleId: string, t: Transition | null): Promise<void> {
    await announceChange({ publisher: deps.publisher, logger: log }, t && { articleId, version: t.version });
  }

  async function failAll(job: CaptureJob, formats: Format[], err: PermanentError): Promise<void> {
    for (const f of formats)
      await changed(job.articleId, await markFailed(deps.db, job.articleId, f, err.code, err.message));
  }

  /** The owner's cookies for the target; a store that cannot be read degrades to an anonymous capture. */
  async function siteCookies(articleId: string, target: URL, jl: Logger): Promise<SiteCookie[]> {
    if (!deps.cookies) return [];
    try {
      const found = await deps.cookies.forTarget(articleId, target);
      if (found.length) jl.info({ cookieCount: found.length }, 'capturing with the owner cookies for this site');
      return found;
    } catch (err) {
      jl.error(
        { code: (err as { code?: string }).code ?? 'cookies_unreadable' },
        'owner cookies unreadable; capturing without',
      );
      return [];
    }
  }

  /** Records one format's outcome on its artifact row; answers whether it is worth a retry (transient). */
  async function recordOutcome(job: CaptureJob, f: Format, o: EngineOutcome, jl: Logger): Promise<boolean> {
    if (o.ok) {
      await changed(
        job.articleId,
        await markSucceeded(deps.db, job.articleId, f, {
          storageKey: o.stored.key,
          contentType: o.stored.contentType,
          sizeBytes: o.stored.size,
          sha256: o.stored.sha256,
          engineVersion: o.engineVersion,
        }),
      );
      jl.info({ artifact: f, sizeBytes: o.stored.size }, 'artifact stored');
      return false;
    }
    if (isPermanent(o.error)) {
      await changed(
        job.articleId,
        await markFailed(deps.db, job.articleId, f, o.error.code, o.error.message, o.skip ? 'skipped' : 'failed'),
      );
      jl.warn(
        { artifact: f, code: o.error.code, msg: o.error.message },
        o.skip ? 'artifact skipped' : 'artifact failed',
      );
      return false;
    }
    const msg = o.error instanceof Error ? o.error.message : String(o.error);
    await changed(job.articleId, await releaseArtifact(deps.db, job.articleId, f, 'transient', msg, deps.leaseSeconds));
    jl.warn({ artifact: f, err: o.error }, 'artifact capture failed, will retry');
    return true;
  }

  async function handleJob(job: CaptureJob, messageId: string): Promise<PushOutcome> {
    const jl = log.child({ articleId: job.articleId, url: job.url, messageId });
    const formats = job.formats.filter((f) => deps.engine.formats.includes(f));
    if (formats.length === 0) return { status: 204, detail: 'no format for this worker' };

    // Claim every format; what is already done (or being done elsewhere) is left alone.
    const claim = await claimArtifacts(deps.db, job.articleId, formats, deps.leaseSeconds);
    const claimed: Format[] = claim.claimed;
    const busy = claim.busy.length;
    await changed(job.articleId, claim.transition);
    if (claimed.length === 0) {
      // Leased by another delivery: ask for redelivery, so that if that worker died the message claims
      // the artifact once the lease runs out (the sweeper covers the case where deliveries run out first).
      if (busy > 0) {
        jl.info({ formats }, 'in progress under another lease; retry later');
        return { status: 503, detail: 'in progress elsewhere' };
      }
      jl.info({ formats }, 'nothing to claim: already done');
      return { status: 200, detail: 'nothing to do' };
    }

    // An uploaded page is rendered from its stored file: its URL is a label, never fetched (nor resolved here).
    const uploaded = await isUploaded(deps.db, job.articleId);
    let target: URL;
    try {
      target = uploaded ? new URL(job.url) : (await checkUrl(job.url, deps.guard)).url;
    } catch (err) {
      if (isPermanent(err)) {
        jl.warn({ code: err.code }, 'target refused');
        await failAll(job, claimed, err);
        return { status: 200, detail: err.code };
      }
      for (const f of claimed)
        await changed(
          job.articleId,
          await releaseArtifact(deps.db, job.articleId, f, 'dns_error', 'name resolution failed', deps.leaseSeconds),
        );
      return { status: 503, detail: 'dns error' };
    }

    const ac = new AbortController();
    inFlight.add(ac);
    const timer = setTimeout(
      () => ac.abort(new PermanentError('timeout', `capture exceeded ${deps.captureTimeoutMs} ms`)),
      deps.captureTimeoutMs,
    );
    const renew = setInterval(
      () => {
        for (const f of claimed)
          renewLease(deps.db, job.articleId, f, deps.leaseSeconds).catch((err) =>
            jl.warn({ err }, 'lease renewal failed'),
          );
      },
      Math.max(1000, (deps.leaseSeconds * 1000) / 3),
    );
    let release: (() => Promise<void>) | undefined;
    let result: EngineResult;
    const recorded = new Set<Format>();
    const started = Date.now();
    try {
      if (!uploaded) release = await deps.hostLimiter?.acquire(target.hostname, ac.signal);
      const cookies = uploaded ? [] : await siteCookies(job.articleId, target, jl);
      result = await deps.engine.capture({
        ...(uploaded ? { upload: { html: () => readAll(deps.blobs, storageKey(job.articleId, 'singlefile')) } } : {}),
        ...(cookies.length ? { cookies } : {}),
        articleId: job.articleId,
        url: target,
        formats: claimed,
        signal: ac.signal,
        logger: jl,
        store: (format, body, contentType) =>
          deps.blobs.put(storageKey(job.articleId, format), body, {
            contentType: contentType ?? FORMAT_FILES[format].contentType,
            metadata: { articleId: job.articleId, format },
            maxBytes: deps.maxArtifactBytes,
            signal: ac.signal,
          }),
        record: async (format, outcome) => {
          if (!claimed.includes(format) || recorded.has(format) || ac.signal.aborted) return;
          recorded.add(format);
          try {
            await recordOutcome(job, format, outcome, jl);
          } catch (err) {
            recorded.delete(format); // the final pass records it
            throw err;
          }
        },
        recordMeta: async (meta) => {
          if (ac.signal.aborted) throw new Error('the capture was aborted');
          await changed(job.articleId, await updateArticleMeta(deps.db, job.articleId, meta));
        },
        recordExtra: async (name, stored) => {
          if (ac.signal.aborted) throw new Error('the capture was aborted');
          await changed(job.articleId, await addSucceededArtifact(deps.db, job.articleId, name, stored));
        },
      });
    } catch (err) {
      // A URIError comes from the URL itself (a malformed percent-escape): the same on every retry, so permanent.
      const reason = ac.signal.aborted
        ? ac.signal.reason
        : err instanceof URIError
          ? new PermanentError('invalid_url', `the URL has a malformed percent-escape: ${err.message}`)
          : err;
      result = { outcomes: Object.fromEntries(claimed.map((f) => [f, { ok: false, error: reason }])) };
    } finally {
      clearTimeout(timer);
      clearInterval(renew);
      inFlight.delete(ac);
      await release?.().catch((err) => jl.warn({ err }, 'host slot release failed'));
    }

    if (result.meta || result.warnings?.length) {
      await changed(job.articleId, await updateArticleMeta(deps.db, job.articleId, result.meta ?? {}, result.warnings));
    }
    for (const [f, x] of Object.entries(result.extra ?? {})) {
      if (x) await changed(job.articleId, await addSucceededArtifact(deps.db, job.articleId, f, x.stored));
    }
    let retry = false;
    for (const f of claimed) {
      if (recorded.has(f)) continue;
      const o = result.outcomes[f] ?? { ok: false, error: new Error('the engine returned no result for this format') };
      if (await recordOutcome(job, f, o, jl)) retry = true;
    }
    jl.info({ formats: claimed, ms: Date.now() - started, retry }, 'capture finished');
    return retry ? { status: 500, detail: 'transient failure, retry' } : { status: 200, detail: 'done' };
  }

  return {
    /** Handles one Pub/Sub push body. Malformed messages are acknowledged (logged): retrying cannot fix them. */
    async handlePush(body: unknown): Promise<PushOutcome> {
      let decoded;
      try {
        decoded = decodePush(CaptureJobV1, body);
      } catch (err) {
        if (err instanceof BadMessage) {
          log.error({ err }, 'malformed capture message dropped');
          return { status: 400, detail: err.message };
        }
        throw err;
      }
      return handleJob(decoded.data, decoded.messageId);
    },

    /** Dead-letter subscriber: the message exhausted its deliveries; record that on its artifacts. */
    async handleDeadLetter(body: unknown): Promise<PushOutcome> {
      let decoded;
      try {
        decoded = decodePush(CaptureJobV1, body);
      } catch (err) {
        log.error({ err }, 'malformed dead-letter message dropped');
        return { status: 200, detail: 'malformed' };
      }
      const job = decoded.data;
      const attempts = decoded.attributes.CloudPubSubDeadLetterSourceDeliveryCount ?? 'several';
      // Every format of the job: one dead-letter endpoint serves the dead-letter topics of both workers.
      for (const f of job.formats) {
        const t = await markFailed(
          deps.db,
          job.articleId,
          f,
          'dead_lettered',
          `gave up after ${attempts} delivery attempts`,
          'failed',
          { onlyIfUnleased: true },
        );
        if (t) log.warn({ articleId: job.articleId, artifact: f }, 'artifact dead-lettered');
        await changed(job.articleId, t);
      }
      return { status: 200, detail: 'recorded' };
    },

    /** SIGTERM: abort what runs so its artifacts are released within the grace period. */
    abortAll(reason: string): void {
      for (const ac of inFlight) ac.abort(new Error(reason));
    },
    inFlight: () => inFlight.size,
  };
}

export type CaptureWorker = ReturnType<typeof createCaptureWorker>;

async function readAll(blobs: BlobStore, key: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of await blobs.get(key)) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(parts);
}

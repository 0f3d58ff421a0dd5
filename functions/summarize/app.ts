// The summarize handlers, independent of how they are registered: the Eventarc storage CloudEvent
// (mapped to ObjectFinalized) and the Cloud Tasks HTTP target. index.ts registers them; tests too.
import type { CloudEvent, Request } from '@google-cloud/functions-framework';
import type { Response } from 'express';
import type { Logger } from '../../shared/core/logger.ts';
import { SummaryTaskV1 } from '../../shared/core/messages.ts';
import type { ObjectFinalized } from '../../shared/core/ports.ts';
import type { SummarizeService } from './service.ts';

export const STORAGE_FINALIZED = 'google.cloud.storage.object.v1.finalized';

/** Eventarc's storage object data (the Cloud Storage JSON API object resource); fields we read. */
interface StorageObjectData {
  bucket?: string;
  name?: string;
  contentType?: string;
  size?: string | number;
  metadata?: Record<string, string>;
  timeCreated?: string;
  updated?: string;
}

/** Maps an Eventarc storage CloudEvent (binary or structured mode) to ObjectFinalized; null if it is not one. */
export function toObjectFinalized(ce: CloudEvent<unknown>): ObjectFinalized | null {
  if (ce.type !== STORAGE_FINALIZED) return null;
  let data = ce.data as StorageObjectData | string | Buffer | undefined;
  if (Buffer.isBuffer(data)) data = data.toString('utf8');
  if (typeof data === 'string') {
    try {
      data = JSON.parse(data) as StorageObjectData;
    } catch {
      data = undefined;
    }
  }
  const d: StorageObjectData = data ?? {};
  const name = d.name ?? (ce.subject?.startsWith('objects/') ? ce.subject.slice('objects/'.length) : undefined);
  const bucket = d.bucket ?? /\/buckets\/([^/]+)$/.exec(ce.source ?? '')?.[1];
  if (!name || !bucket || !ce.id) return null;
  return {
    eventId: ce.id,
    bucket,
    name,
    contentType: d.contentType,
    size: Number(d.size ?? 0),
    metadata: d.metadata ?? {},
    time: ce.time ?? d.updated ?? d.timeCreated ?? new Date().toISOString(),
  };
}

export interface SummarizeHandlers {
  onCloudEvent(ce: CloudEvent<unknown>): Promise<void>;
  onTask(req: Request, res: Response): Promise<void>;
}

export function createSummarizeHandlers(deps: {
  service: SummarizeService;
  logger: Logger;
  maxTaskAttempts: number;
}): SummarizeHandlers {
  const log = deps.logger.child({ component: 'summarize' });
  return {
    // A throw answers 500 and Eventarc redelivers; the service is idempotent on the event id.
    async onCloudEvent(ce) {
      const ev = toObjectFinalized(ce);
      if (!ev) {
        log.warn({ eventId: ce.id, type: ce.type }, 'cloud event ignored');
        return;
      }
      await deps.service.onObjectFinalized(ev);
    },

    async onTask(req, res) {
      let body: unknown = req.body;
      if (Buffer.isBuffer(body) || typeof body === 'string') {
        try {
          body = JSON.parse(body.toString());
        } catch {
          body = undefined;
        }
      }
      const parsed = SummaryTaskV1.safeParse(body);
      if (!parsed.success) {
        // A poison task: acknowledge it (2xx) so the queue drops it, and say so loudly.
        log.error(
          { task: req.header('x-cloudtasks-taskname'), issue: parsed.error.issues[0]?.message },
          'summary task rejected: bad payload',
        );
        res.status(200).json({ outcome: 'rejected' });
        return;
      }
      const retries = Number(req.header('x-cloudtasks-taskretrycount') ?? '0') || 0;
      const ac = new AbortController();
      res.on('close', () => {
        if (!res.writableFinished) ac.abort(new Error('client went away'));
      });
      try {
        const outcome = await deps.service.runTask(parsed.data, {
          finalAttempt: retries + 1 >= deps.maxTaskAttempts,
          signal: ac.signal,
        });
        res.status(200).json({ outcome });
      } catch (err) {
        // Non-2xx: Cloud Tasks retries with the queue's backoff.
        log.warn(
          { articleId: parsed.data.articleId, attempt: retries + 1, err },
          'summary task failed; the queue will retry',
        );
        if (!res.headersSent) res.status(503).json({ error: 'retry' });
      }
    },
  };
}

// Publishing capture jobs: one message per worker listing the formats it should produce (fan-out by worker).
import { randomUUID } from 'node:crypto';
import type { CaptureJob } from '../core/messages.ts';
import { TOPICS } from '../core/messages.ts';
import { isBrowserFormat, type Format } from '../core/formats.ts';
import type { Publisher } from '../core/ports.ts';

function jobsFor(
  articleId: string,
  url: string,
  formats: readonly Format[],
  reason: CaptureJob['reason'],
): Array<{ topic: typeof TOPICS.captureBrowser | typeof TOPICS.captureMonolith; job: CaptureJob }> {
  const requestedAt = new Date().toISOString();
  const browser = formats.filter(isBrowserFormat);
  const out: Array<{ topic: typeof TOPICS.captureBrowser | typeof TOPICS.captureMonolith; job: CaptureJob }> = [];
  if (browser.length)
    out.push({ topic: TOPICS.captureBrowser, job: { v: 1, articleId, url, formats: browser, reason, requestedAt } });
  if (formats.includes('monolith'))
    out.push({
      topic: TOPICS.captureMonolith,
      job: { v: 1, articleId, url, formats: ['monolith'], reason, requestedAt },
    });
  return out;
}

/** Publishes every job; resolves with the failures (the rows stay pending and the sweeper republishes). */
export async function publishJobs(
  publisher: Publisher,
  articleId: string,
  url: string,
  formats: readonly Format[],
  reason: CaptureJob['reason'],
): Promise<unknown[]> {
  const results = await Promise.allSettled(
    jobsFor(articleId, url, formats, reason).map(({ topic, job }) =>
      publisher.publish(topic, job, { articleId, jobId: randomUUID() }),
    ),
  );
  return results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
}

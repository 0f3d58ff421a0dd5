// The stuck-work sweeper: artifacts pending or running past their lease are republished, so a crash or a
// publish that failed after the commit never leaves an archive stuck; past the attempt limit they fail.
import type { Kysely } from 'kysely';
import type { Database } from '../db/types.ts';
import { extendPendingLease, findStuckArtifacts, markFailed } from '../db/artifacts.ts';
import { publishJobs } from './publish.ts';
import { announceChange } from './article-changed.ts';
import type { Publisher } from '../core/ports.ts';
import type { Logger } from '../core/logger.ts';
import type { Format } from '../core/formats.ts';

export interface SweepDeps {
  db: Kysely<Database>;
  publisher: Publisher;
  logger: Logger;
  leaseSeconds: number;
  /** Claims after which a stuck artifact is failed with `stuck` instead of republished. */
  maxAttempts: number;
}

export async function sweepOnce(deps: SweepDeps): Promise<{ republished: number; failed: number }> {
  const stuck = await findStuckArtifacts(deps.db, 200);
  const byArticle = new Map<string, { url: string; formats: Format[] }>();
  let failed = 0;
  for (const a of stuck) {
    if (a.attempts >= deps.maxAttempts) {
      const t = await markFailed(
        deps.db,
        a.article_id,
        a.format as Format,
        'stuck',
        `no worker finished it after ${a.attempts} attempts`,
      );
      if (t) {
        failed++;
        await announceChange(deps, { articleId: a.article_id, version: t.version });
      }
      continue;
    }
    if (!(await extendPendingLease(deps.db, a.article_id, a.format, deps.leaseSeconds))) continue;
    const entry = byArticle.get(a.article_id) ?? { url: a.url, formats: [] };
    entry.formats.push(a.format as Format);
    byArticle.set(a.article_id, entry);
  }
  let republished = 0;
  for (const [articleId, { url, formats }] of byArticle) {
    const errors = await publishJobs(deps.publisher, articleId, url, formats, 'sweep');
    if (errors.length) deps.logger.warn({ articleId, err: errors[0] }, 'sweeper publish failed');
    else republished += formats.length;
  }
  if (republished || failed) deps.logger.info({ republished, failed }, 'sweep finished');
  return { republished, failed };
}

/** Runs sweepOnce every `intervalMs` until stopped; a failing sweep is logged and retried next time. */
export function startSweeper(deps: SweepDeps, intervalMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweepOnce(deps).catch((err) => deps.logger.error({ err }, 'sweep failed'));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

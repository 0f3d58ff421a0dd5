// The import queuer: drains stored import lines into captures at a bounded rate, with a bounded number in flight
// overall and per host, so ten thousand bookmarks never flood the capture queue or one site. Its state is the
// import_items rows alone: a restarted process picks up where the last one stopped (claims expire).
import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, ImportItemTable } from '../db/types.ts';
import type { Logger } from '../core/logger.ts';
import type { Publisher } from '../core/ports.ts';
import type { Format } from '../core/formats.ts';
import { PermanentError } from '../core/errors.ts';
import { checkHost, type GuardOptions } from '../net/ssrf.ts';
import { createArticle, updateArticleMeta, updateArticleNotes } from '../db/articles.ts';
import type { Transition } from '../db/transition.ts';
import type { ImportConfig } from './config.ts';
import { publishJobs } from '../jobs/publish.ts';
import { announceChange } from '../jobs/article-changed.ts';

export interface ImportQueuerDeps {
  db: Kysely<Database>;
  publisher: Publisher;
  logger: Logger;
  guard: GuardOptions;
  leaseSeconds: number;
  /** Lines handed to the capture workers per second (a token bucket; bursts of at most one second's worth). */
  ratePerSecond: number;
  /** Import captures in flight at once, over every import: interactive archiving keeps its share of workers. */
  maxInFlight: number;
  /** Import captures in flight at once on one host: politeness to each site. */
  maxPerHost: number;
  /** How long a claimed line may stay claimed before another queuer takes it over (a crash mid-line). */
  claimSeconds?: number;
}

/** The queuer's deps from a deployable's settings (ImportConfig plus the lease and the SSRF setting). */
export function importQueuerDeps(
  config: ImportConfig & { LEASE_SECONDS: number; HTBASE_ALLOW_PRIVATE_NETWORKS: boolean },
  io: { db: Kysely<Database>; publisher: Publisher; logger: Logger; guard?: GuardOptions },
): ImportQueuerDeps {
  return {
    ...io,
    guard: io.guard ?? { allowPrivateNetworks: config.HTBASE_ALLOW_PRIVATE_NETWORKS },
    leaseSeconds: config.LEASE_SECONDS,
    ratePerSecond: config.IMPORT_RATE_PER_SECOND,
    maxInFlight: config.IMPORT_MAX_IN_FLIGHT,
    maxPerHost: config.IMPORT_MAX_PER_HOST,
  };
}

type Item = Selectable<ImportItemTable> & { owner_id: string; formats: string[] };

export interface TickResult {
  settled: number;
  queued: number;
  duplicates: number;
  failed: number;
}

/** Queued lines whose capture finished become archived or failed; expired claims go back to waiting. */
async function settle(db: Kysely<Database>): Promise<number> {
  const done = await sql`
    update import_items i set
      state = case when a.status = 'failed' then 'failed' else 'archived' end,
      reason = case when a.status = 'failed' then 'capture failed: ' || coalesce((select f.error_code || ': ' ||
        f.error_message from artifacts f where f.article_id = a.id and f.status = 'failed' order by f.format limit 1),
        'unknown') end
    from articles a
    where a.id = i.article_id and i.state = 'queued' and a.status in ('complete', 'partial', 'failed')`.execute(db);
  const gone = await sql`update import_items set state = 'failed', reason = 'the archive was deleted'
    where state = 'queued' and article_id is null`.execute(db);
  await sql`update import_items set state = 'waiting', claimed_until = null
    where state = 'claimed' and claimed_until < now()`.execute(db);
  return Number(done.numAffectedRows ?? 0) + Number(gone.numAffectedRows ?? 0);
}

/** Claims up to `n` waiting lines, oldest import first, leaving out hosts that are at their limit. */
async function claim(deps: ImportQueuerDeps, n: number): Promise<Item[]> {
  const { db } = deps;
  const inflight = await db
    .selectFrom('import_items')
    .select(['host', sql<string>`count(*)`.as('n')])
    .where('state', 'in', ['claimed', 'queued'])
    .groupBy('host')
    .execute();
  const perHost = new Map(inflight.map((r) => [r.host ?? '', Number(r.n)]));
  const total = [...perHost.values()].reduce((a, b) => a + b, 0);
  const room = Math.min(n, deps.maxInFlight - total);
  if (room <= 0) return [];
  const full = [...perHost].filter(([, c]) => c >= deps.maxPerHost).map(([h]) => h);
  // At most maxPerHost candidates per host, so one huge site cannot hide the other sites behind it.
  const candidates = await sql<{ id: string; host: string }>`
    select id, host from (
      select i.id, i.host, m.created_at, i.position,
        row_number() over (partition by i.host order by m.created_at, i.position) as rn
      from import_items i join imports m on m.id = i.import_id
      where i.state = 'waiting' ${full.length ? sql`and i.host not in (${sql.join(full)})` : sql``}
    ) t where rn <= ${deps.maxPerHost} order by created_at, position limit ${room * 4}`.execute(db);
  const picked: string[] = [];
  for (const c of candidates.rows) {
    if (picked.length >= room) break;
    const used = perHost.get(c.host) ?? 0;
    if (used >= deps.maxPerHost) continue;
    perHost.set(c.host, used + 1);
    picked.push(c.id);
  }
  if (!picked.length) return [];
  // Compare-and-set: another queuer (another instance) may have claimed some of them meanwhile.
  const claimed = await sql<Item>`
    update import_items i set state = 'claimed',
      claimed_until = now() + make_interval(secs => ${deps.claimSeconds ?? 30})
    from imports m
    where m.id = i.import_id and i.id in (${sql.join(picked)}) and i.state = 'waiting'
    returning i.*, m.owner_id, m.formats`.execute(db);
  return claimed.rows;
}

const finish = (db: Kysely<Database>, id: string, set: Partial<Record<keyof ImportItemTable, unknown>>) =>
  db
    .updateTable('import_items')
    .set({ claimed_until: null, ...set } as never)
    .where('id', '=', id)
    .where('state', '=', 'claimed')
    .execute();

/** One line: the guard, then an archive already there (a duplicate), else a new snapshot and its capture jobs. */
async function queueLine(deps: ImportQueuerDeps, item: Item): Promise<'queued' | 'duplicate' | 'failed' | 'retry'> {
  const { db, logger: log } = deps;
  try {
    await checkHost(item.host!, deps.guard);
  } catch (err) {
    if (!(err instanceof PermanentError)) {
      log.warn({ err, importId: item.import_id, url: item.url }, 'resolver error while queuing; will retry');
      await finish(db, item.id, { state: 'waiting' });
      return 'retry';
    }
    // A name that does not resolve is archived anyway (as POST /archive does): the capture records dns_not_found.
    if (err.code !== 'dns_not_found') {
      await finish(db, item.id, { state: 'failed', reason: `${err.code}: ${err.message}` });
      return 'failed';
    }
  }
  const key = `import:${item.id}`;
  // A restart between creating the archive and recording it: the Idempotency-Key finds it again.
  const own = await db
    .selectFrom('articles')
    .select('id')
    .where('owner_id', '=', item.owner_id)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
  if (!own) {
    const existing = await db
      .selectFrom('articles')
      .select('id')
      .where('owner_id', '=', item.owner_id)
      .where('normalized_url', '=', item.normalized_url!)
      .where('status', '!=', 'failed')
      .orderBy('created_at', 'desc')
      .executeTakeFirst();
    if (existing) {
      // The duplicate's tags and note merge into the archive already there rather than being lost.
      await mergeNotes(deps, existing.id, item);
      await finish(db, item.id, { state: 'duplicate', article_id: existing.id });
      return 'duplicate';
    }
  }
  const formats = item.formats as Format[];
  const result = await createArticle(db, {
    id: randomUUID(),
    ownerId: item.owner_id,
    url: item.url,
    normalizedUrl: item.normalized_url!,
    formats,
    idempotencyKey: key,
    dedupWindowSeconds: 0,
    force: true,
    leaseSeconds: deps.leaseSeconds,
  });
  if (result.kind === 'idempotency_conflict') throw new Error('import idempotency key reused for another URL');
  const a = result.article;
  if (result.kind === 'created') {
    const changes = { publisher: deps.publisher, logger: log };
    // The title the person's tool knew, shown until the capture reads the page's own.
    let t = item.title ? await updateArticleMeta(db, a.id, { title: item.title }) : null;
    // The person's tags (folders included) and note become the archive's own, shown and searched in the library.
    if (item.tags.length || item.note) t = (await mergeNotes(deps, a.id, item)) ?? t;
    const errors = await publishJobs(deps.publisher, a.id, a.url, formats, 'submit');
    if (errors.length)
      log.error({ articleId: a.id, err: errors[0] }, 'capture publish failed; the sweeper will republish');
    await announceChange(changes, { articleId: a.id, version: Number(t?.version ?? a.version) });
  }
  await finish(db, item.id, { state: 'queued', article_id: a.id, queued_at: new Date() });
  return 'queued';
}

/** Unions a line's tags into the archive's own and appends its note when the archive lacks it; null: nothing to do. */
async function mergeNotes(
  deps: ImportQueuerDeps,
  articleId: string,
  item: { tags: string[]; note: string | null },
): Promise<Transition | null> {
  if (!item.tags.length && !item.note) return null;
  const a = await deps.db
    .selectFrom('articles')
    .select(['tags', 'tags_edited', 'note'])
    .where('id', '=', articleId)
    .executeTakeFirst();
  if (!a) return null;
  const tags = [...new Set([...(a.tags_edited ? a.tags : []), ...item.tags])];
  const note = !item.note || a.note?.includes(item.note) ? a.note : a.note ? `${a.note}\n\n${item.note}` : item.note;
  const edit = { ...(item.tags.length ? { tags } : {}), ...(note !== a.note ? { note } : {}) };
  if (!Object.keys(edit).length) return null;
  const t = await updateArticleNotes(deps.db, articleId, edit);
  if (t)
    await announceChange({ publisher: deps.publisher, logger: deps.logger }, { articleId, version: Number(t.version) });
  return t;
}

/** Settles finished lines, then queues up to `budget` waiting ones. */
export async function queueImportsOnce(deps: ImportQueuerDeps, budget: number): Promise<TickResult> {
  const out: TickResult = { settled: await settle(deps.db), queued: 0, duplicates: 0, failed: 0 };
  if (budget < 1) return out;
  for (const item of await claim(deps, Math.floor(budget))) {
    try {
      const r = await queueLine(deps, item);
      if (r === 'queued') out.queued++;
      else if (r === 'duplicate') out.duplicates++;
      else if (r === 'failed') out.failed++;
    } catch (err) {
      // The claim expires and the line is tried again; nothing is lost.
      deps.logger.error({ err, importId: item.import_id, url: item.url }, 'queuing an import line failed');
    }
  }
  return out;
}

export interface ImportQueuer {
  stop(): Promise<void>;
}

/** Runs queueImportsOnce every `intervalMs` with a token bucket of `ratePerSecond`. */
export function startImportQueuer(deps: ImportQueuerDeps, intervalMs = 250): ImportQueuer {
  const log = deps.logger.child({ component: 'import-queuer' });
  const ctx = { ...deps, logger: log };
  let tokens = 1;
  let last = Date.now();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    const now = Date.now();
    tokens = Math.min(Math.max(1, deps.ratePerSecond), tokens + ((now - last) / 1000) * deps.ratePerSecond);
    last = now;
    try {
      const r = await queueImportsOnce(ctx, tokens);
      // Only new captures spend the rate: duplicates and refused lines cost the workers nothing.
      tokens -= r.queued;
    } catch (err) {
      log.error({ err }, 'import queuer tick failed');
    }
  };
  const loop = () => {
    if (stopped) return;
    running = tick().finally(() => {
      if (!stopped) timer = setTimeout(loop, intervalMs);
    });
  };
  timer = setTimeout(loop, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

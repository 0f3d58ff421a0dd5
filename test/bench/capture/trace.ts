// HT Base from POST /archive to its last browser artifact succeeded, with a per-stage trace (issue 17): the
// API answer, the bus hop and claim (the claim's started_at), the SSRF check and content probe, every step of the
// capture (its own timings), storing (the blob store's finalize events) and the status updates (the worker's logs).
import { sql } from 'kysely';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger, type Logger } from '../../../shared/core/logger.ts';
import type { Embedded } from '../../../containers/standalone/app.ts';

interface LogRecord {
  at: number;
  message: string;
  articleId?: string;
  timings?: Record<string, number>;
  scroll?: { stepMs: number; bottomMs: number; decodeMs: number };
  totalMs?: number;
}

/** A real logger (the worker's own lines) whose records are kept, stamped with Date.now() as written. */
export function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const records: LogRecord[] = [];
  const keep = new Set(['page captured', 'artifact stored', 'capture finished']);
  const destination = {
    write(line: string) {
      const at = Date.now();
      const r = JSON.parse(line) as Omit<LogRecord, 'at'>;
      if (keep.has(r.message)) records.push({ ...r, at });
      if (records.length > 10_000) records.splice(0, 5_000);
    },
  };
  return { logger: createLogger({ component: 'bench', level: 'info', destination }), records };
}

/** Stage names of the trace, in pipeline order (capture steps in the middle). */
export const CAPTURE_STEPS = [
  'open',
  'probe',
  'navigate',
  'settle',
  'consent',
  'scroll',
  'fonts',
  'inspect',
  'screenshot',
  'thumbnail',
  'readable',
  'singlefile',
  'pdf',
] as const;
/** The scroll's own parts (ScrollStats), shown under it. */
const SCROLL_PARTS = ['  scroll: steps', '  scroll: network idle + top', '  scroll: images decoded'] as const;
export const TRACE = [
  'POST /archive + bus hop + claim',
  'ssrf check',
  ...CAPTURE_STEPS.flatMap((s) => (s === 'scroll' ? [`capture: ${s}`, ...SCROLL_PARTS] : [`capture: ${s}`])),
  'capture: other',
  'context close + storing',
  'status updates',
] as const;

export interface Traced {
  totalMs: number;
  /** Until the 202 was in the client's hands (overlaps the bus hop). */
  answerMs: number;
  stages: Record<string, number>;
}

/** POSTs one capture and waits (polling the database every 10 ms) until every format is finished. */
export async function htbaseCapture(
  app: Embedded,
  rec: { records: LogRecord[]; finalized: Map<string, number[]> },
  url: string,
  formats: readonly string[],
): Promise<Traced> {
  const t0 = Date.now();
  const res = await fetch(`${app.url}/archive`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, formats, force: true }),
  });
  const answered = Date.now();
  const body = (await res.json()) as { id: string };
  if (res.status !== 202) throw new Error(`POST /archive answered ${res.status}: ${JSON.stringify(body)}`);
  const id = body.id;
  const deadline = t0 + 120_000;
  let rows: Array<{ status: string; started: number | null }> = [];
  for (;;) {
    rows = (await app.db.db
      .selectFrom('artifacts')
      .select(['status', sql<number | null>`extract(epoch from started_at) * 1000`.as('started')])
      .where('article_id', '=', id)
      .execute()) as typeof rows;
    if (rows.length && rows.every((r) => ['succeeded', 'failed', 'skipped'].includes(r.status))) break;
    if (Date.now() > deadline) throw new Error(`capture ${id} not finished in 120 s`);
    await sleep(10);
  }
  const bad = rows.filter((r) => r.status !== 'succeeded');
  if (bad.length) throw new Error(`capture ${id}: ${bad.length} artifacts did not succeed`);
  // The last status update is logged right after it commits; wait for the line (same tick in practice).
  const mine = () => rec.records.filter((r) => r.articleId === id);
  while (mine().filter((r) => r.message === 'artifact stored').length < formats.length) await sleep(2);
  const stored = mine().filter((r) => r.message === 'artifact stored');
  const captured = mine().find((r) => r.message === 'page captured')!;
  const end = Math.max(...stored.map((r) => r.at));
  const claimed = Math.min(...rows.map((r) => Number(r.started)));
  const captureStart = captured.at - (captured.totalMs ?? 0);
  const lastFinalize = Math.max(...(rec.finalized.get(id) ?? [captured.at]));
  const stages: Record<string, number> = {
    // The in-process bus can claim before the client has read the 202, so these two are one segment.
    'POST /archive + bus hop + claim': claimed - t0,
    'ssrf check': captureStart - claimed,
  };
  let steps = 0;
  for (const s of CAPTURE_STEPS) {
    stages[`capture: ${s}`] = captured.timings?.[s] ?? 0;
    steps += stages[`capture: ${s}`];
  }
  const sc = captured.scroll;
  stages[SCROLL_PARTS[0]] = sc?.stepMs ?? 0;
  stages[SCROLL_PARTS[1]] = sc?.bottomMs ?? 0;
  stages[SCROLL_PARTS[2]] = sc?.decodeMs ?? 0;
  stages['capture: other'] = (captured.totalMs ?? 0) - steps;
  stages['context close + storing'] = lastFinalize - captured.at;
  stages['status updates'] = end - lastFinalize;
  return { totalMs: end - t0, answerMs: answered - t0, stages };
}

// HT Base against single-file-cli on the full-page difference alone (issue 19): the per-page pair, the pages
// where HT Base is worse by more than half a point, and the overall figure (mean and median over scored pages).
import { median } from './metrics.ts';
import { BASELINE, HTBASE, pct, scored, type PageResult } from './report.ts';

/** Half a percentage point of the full-page pixel difference. */
export const VERSUS_MARGIN = 0.005;

export interface Versus {
  rows: Array<{ id: string; ht: number; sf: number; delta: number }>;
  /** Pages where HT Base's full-page difference exceeds the baseline's by more than VERSUS_MARGIN. */
  worse: string[];
  overall: { htMean: number; sfMean: number; htMedian: number; sfMedian: number };
}

export function versusBaseline(pages: readonly PageResult[], margin = VERSUS_MARGIN): Versus {
  const rows = scored(pages)
    .filter((p) => p.tools[HTBASE] && p.tools[BASELINE])
    .map((p) => {
      const ht = p.tools[HTBASE].fullDiff;
      const sf = p.tools[BASELINE].fullDiff;
      return { id: p.id, ht, sf, delta: ht - sf };
    });
  const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : Number.NaN);
  return {
    rows,
    worse: rows.filter((r) => r.delta > margin).map((r) => r.id),
    overall: {
      htMean: mean(rows.map((r) => r.ht)),
      sfMean: mean(rows.map((r) => r.sf)),
      htMedian: median(rows.map((r) => r.ht)),
      sfMedian: median(rows.map((r) => r.sf)),
    },
  };
}

/** The text block bench:fidelity prints: one line per page, the worse list, the overall figure. */
export function versusText(v: Versus, margin = VERSUS_MARGIN): string {
  const w = Math.max(4, ...v.rows.map((r) => r.id.length));
  const lines = [`${'page'.padEnd(w)}  ${HTBASE.padStart(8)}  ${BASELINE.padStart(15)}  ${'delta'.padStart(7)}`];
  for (const r of v.rows) {
    const d = `${r.delta > 0 ? '+' : ''}${(r.delta * 100).toFixed(2)}`;
    const flag = r.delta > margin ? '  WORSE' : '';
    lines.push(`${r.id.padEnd(w)}  ${pct(r.ht).padStart(8)}  ${pct(r.sf).padStart(15)}  ${d.padStart(7)}${flag}`);
  }
  lines.push(
    `\n${HTBASE} worse than ${BASELINE} by more than ${(margin * 100).toFixed(1)} points (full page): ` +
      (v.worse.length ? v.worse.join(', ') : 'none'),
  );
  lines.push(
    `overall full-page difference: ${HTBASE} mean ${pct(v.overall.htMean)} median ${pct(v.overall.htMedian)}; ` +
      `${BASELINE} mean ${pct(v.overall.sfMean)} median ${pct(v.overall.sfMedian)} (${v.rows.length} pages)`,
  );
  return lines.join('\n');
}

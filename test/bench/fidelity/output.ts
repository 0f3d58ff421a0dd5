// What the fidelity benchmark prints at the end of a run (tables, noise, targets, notes) and which pages keep
// their images and archives in the report directory (the worst and the not-good ones); the rest are removed.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Archive } from './capture.ts';
import { BASELINE, HTBASE, pageTable, summaryTable, type PageResult, type Summary } from './report.ts';
import type { PageImages } from './score.ts';
import { versusBaseline, versusText } from './versus.ts';

/** Writes the text report through `out` and returns the two tables, which the HTML report repeats. */
export function printResults(
  out: (s: string) => void,
  run: {
    results: PageResult[];
    tools: readonly string[];
    summary: Summary;
    overhead: Record<string, number>;
    notes: readonly string[];
  },
): { pageText: string; summaryText: string } {
  const { results, tools, summary, overhead, notes } = run;
  const pageText = pageTable(results, tools);
  const summaryText = summaryTable(summary, tools);
  out('\n' + pageText);
  out(
    '\nnoise = original vs a second load of itself (full page); vp/full = viewport/full-page pixel difference vs the original;',
  );
  out(
    'leak = requests the archive tried to make (all blocked); text = visible-text token similarity; time = capture wall time.\n',
  );
  out(summaryText);
  out(
    `\nempty-page capture time (fixed cost in every capture above): htbase ${overhead[HTBASE]} ms, single-file-cli ${overhead[BASELINE]} ms (includes its browser launch)`,
  );
  for (const [g, n] of Object.entries(summary.noise))
    if (n.noisyPages.length) out(`noisy originals (${g}, second load differs > 1%): ${n.noisyPages.join(', ')}`);
  out(`\n${HTBASE} more than one point worse than ${BASELINE}: ${summary.worse.length ? '' : 'none'}`);
  for (const w of summary.worse) out(`  ${w.id}: ${w.reasons.join('; ')}`);
  const notGood = results.filter((r) => r.original.ok && !r.tools[HTBASE].good);
  out(`\n${HTBASE} pages not good: ${notGood.length ? notGood.map((r) => r.id).join(', ') : 'none'}`);
  out('\ntargets (issue 4):');
  for (const t of summary.targets) out(`  ${t.pass ? 'PASS' : 'FAIL'}  ${t.target}: ${t.detail}`);
  for (const n of notes) out(`note: ${n}`);
  if (tools.includes(BASELINE))
    out(`\nfull-page difference, ${HTBASE} beside ${BASELINE} (issue 19):\n` + versusText(versusBaseline(results)));
  return { pageText, summaryText };
}

/**
 * Every page not good for HT Base (the worst `worstN` first) and every page where it is worse than the baseline
 * keeps its images and gets its archives written beside them; the other pages' images are removed.
 * Returns the kept pages, worst first.
 */
export function keepWorst(
  run: {
    results: PageResult[];
    summary: Summary;
    tools: readonly string[];
    images: Map<string, PageImages>;
    archives: Map<string, Record<string, Archive>>;
  },
  worstN: number,
  dirs: { reportDir: string; imgDir: string; imgDirName: string },
): PageResult[] {
  const { results, summary, tools, images, archives } = run;
  const worstIds = new Set([
    ...results
      .filter((r) => r.original.ok && r.tools[HTBASE].fullDiff > 0)
      .sort((x, y) => y.tools[HTBASE].fullDiff - x.tools[HTBASE].fullDiff)
      .slice(0, worstN)
      .map((r) => r.id),
    ...summary.worse.map((w) => w.id),
    ...results.filter((r) => r.original.ok && !r.tools[HTBASE].good).map((r) => r.id),
  ]);
  for (const [id, imgs] of images) {
    if (worstIds.has(id)) {
      // The archives themselves, to open next to the images.
      for (const t of tools) {
        const html = archives.get(id)?.[t]?.html;
        if (!html) continue;
        writeFileSync(join(dirs.imgDir, `${id}-${t}.html`), html);
        (imgs[t] ??= {}).archive = `${dirs.imgDirName}/${id}-${t}.html`;
      }
      continue;
    }
    for (const v of Object.values(imgs)) if (v.full) rmSync(join(dirs.reportDir, v.full), { force: true });
  }
  return results.filter((r) => worstIds.has(r.id)).sort((x, y) => y.tools[HTBASE].fullDiff - x.tools[HTBASE].fullDiff);
}

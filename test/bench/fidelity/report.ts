// Results of the fidelity benchmark: per-page records, the aggregates per subset and overall, the
// comparison with the baseline, the targets of issue 4, and the printed table and HTML report.
import { isGood, median, quantile } from './metrics.ts';
import { SUBSETS, type Subset } from './corpus.ts';

export const BASELINE = 'single-file-cli';
export const HTBASE = 'htbase';

export interface ToolResult {
  ok: boolean;
  error?: string;
  /** Capture wall time, ms. */
  captureMs: number;
  bytes: number;
  /** 0..1 fractions of differing pixels against the first load of the original (1 when the archive failed). */
  viewportDiff: number;
  fullDiff: number;
  textSimilarity: number;
  leaks: number;
  leakedUrls: string[];
  pageHeight: number;
  good: boolean;
}

export interface PageResult {
  id: string;
  subset: Subset;
  url: string;
  original: { ok: boolean; error?: string; pageHeight: number; textTokens: number };
  /** The original against a second load of itself: the page's own noise. */
  noise: { viewportDiff: number; fullDiff: number; textSimilarity: number } | null;
  tools: Record<string, ToolResult>;
}

export interface Aggregate {
  pages: number;
  good: number;
  goodShare: number;
  leaks: number;
  pagesWithLeaks: number;
  failures: number;
  medianTextSimilarity: number;
  medianFullDiff: number;
  medianViewportDiff: number;
  medianCaptureMs: number;
  p95CaptureMs: number;
  medianBytes: number;
}

export interface Worse {
  id: string;
  reasons: string[];
}

/** A failed archive: the worst score on every axis (the page is missing altogether). */
export function failedTool(captureMs: number, error: string): ToolResult {
  return {
    ok: false,
    error,
    captureMs,
    bytes: 0,
    viewportDiff: 1,
    fullDiff: 1,
    textSimilarity: 0,
    leaks: 0,
    leakedUrls: [],
    pageHeight: 0,
    good: false,
  };
}

export function finishTool(t: Omit<ToolResult, 'good'>): ToolResult {
  return { ...t, good: t.ok && isGood(t) };
}

/** Pages whose original rendered: the only ones a tool can be scored on. */
export function scored(pages: readonly PageResult[]): PageResult[] {
  return pages.filter((p) => p.original.ok);
}

export function aggregate(pages: readonly PageResult[], tool: string): Aggregate {
  const rs = scored(pages)
    .map((p) => p.tools[tool])
    .filter((r): r is ToolResult => !!r);
  const ok = rs.filter((r) => r.ok);
  const good = rs.filter((r) => r.good).length;
  return {
    pages: rs.length,
    good,
    goodShare: rs.length ? good / rs.length : Number.NaN,
    leaks: rs.reduce((s, r) => s + r.leaks, 0),
    pagesWithLeaks: rs.filter((r) => r.leaks > 0).length,
    failures: rs.length - ok.length,
    medianTextSimilarity: median(rs.map((r) => r.textSimilarity)),
    medianFullDiff: median(rs.map((r) => r.fullDiff)),
    medianViewportDiff: median(rs.map((r) => r.viewportDiff)),
    medianCaptureMs: median(rs.map((r) => r.captureMs)),
    p95CaptureMs: quantile(
      rs.map((r) => r.captureMs),
      0.95,
    ),
    medianBytes: median(ok.map((r) => r.bytes)),
  };
}

/** One point = 0.01: full-page difference or text similarity worse by more than that, or any extra leak. */
export function worseThanBaseline(pages: readonly PageResult[], tool = HTBASE, baseline = BASELINE): Worse[] {
  const out: Worse[] = [];
  for (const p of scored(pages)) {
    const a = p.tools[tool];
    const b = p.tools[baseline];
    if (!a || !b) continue;
    const reasons: string[] = [];
    if (a.fullDiff - b.fullDiff > 0.01) reasons.push(`full-page diff ${pct(a.fullDiff)} vs ${pct(b.fullDiff)}`);
    if (b.textSimilarity - a.textSimilarity > 0.01)
      reasons.push(`text similarity ${a.textSimilarity.toFixed(3)} vs ${b.textSimilarity.toFixed(3)}`);
    if (a.leaks > b.leaks) reasons.push(`leaks ${a.leaks} vs ${b.leaks}`);
    if (!a.ok && b.ok) reasons.push(`capture failed: ${a.error}`);
    if (reasons.length) out.push({ id: p.id, reasons });
  }
  return out;
}

export interface Summary {
  subsets: Record<string, Record<string, Aggregate>>;
  noise: Record<string, { medianFullDiff: number; p95FullDiff: number; noisyPages: string[] }>;
  worse: Worse[];
  targets: Array<{ target: string; pass: boolean; detail: string }>;
}

const GROUPS = [...SUBSETS, 'zengarden+extra', 'overall'] as const;
function inGroup(p: PageResult, g: string): boolean {
  if (g === 'overall') return true;
  if (g === 'zengarden+extra') return p.subset === 'zengarden' || p.subset === 'extra';
  return p.subset === g;
}

export function summarize(pages: readonly PageResult[], tools: readonly string[]): Summary {
  const subsets: Summary['subsets'] = {};
  const noise: Summary['noise'] = {};
  for (const g of GROUPS) {
    const ps = pages.filter((p) => inGroup(p, g));
    if (ps.length === 0) continue;
    subsets[g] = Object.fromEntries(tools.map((t) => [t, aggregate(ps, t)]));
    const n = scored(ps).filter((p) => p.noise);
    noise[g] = {
      medianFullDiff: median(n.map((p) => p.noise!.fullDiff)),
      p95FullDiff: quantile(
        n.map((p) => p.noise!.fullDiff),
        0.95,
      ),
      noisyPages: n.filter((p) => p.noise!.fullDiff > 0.01).map((p) => p.id),
    };
  }
  const worse = tools.includes(BASELINE) ? worseThanBaseline(pages) : [];
  const targets: Summary['targets'] = [];
  if (tools.includes(BASELINE)) {
    for (const g of SUBSETS) {
      const s = subsets[g];
      if (!s) continue;
      targets.push({
        target: `good share >= ${BASELINE}'s on ${g}`,
        pass: s[HTBASE].goodShare >= s[BASELINE].goodShare,
        detail: `${pct(s[HTBASE].goodShare)} vs ${pct(s[BASELINE].goodShare)}`,
      });
    }
  }
  const ze = subsets['zengarden+extra'];
  if (ze)
    targets.push({
      target: 'good share >= 95% over zengarden+extra',
      pass: ze[HTBASE].goodShare >= 0.95,
      detail: pct(ze[HTBASE].goodShare),
    });
  const all = subsets.overall;
  if (all)
    targets.push({
      target: 'zero leaks',
      pass: all[HTBASE].leaks === 0,
      detail: `${all[HTBASE].leaks} blocked requests on ${all[HTBASE].pagesWithLeaks} pages`,
    });
  const rd = subsets.readability;
  if (rd)
    targets.push({
      target: 'median text similarity >= 0.99 on readability',
      pass: rd[HTBASE].medianTextSimilarity >= 0.99,
      detail: rd[HTBASE].medianTextSimilarity.toFixed(4),
    });
  if (all && tools.includes(BASELINE)) {
    targets.push({
      target: `median capture time <= ${BASELINE}'s`,
      pass: all[HTBASE].medianCaptureMs <= all[BASELINE].medianCaptureMs,
      detail: `${ms(all[HTBASE].medianCaptureMs)} vs ${ms(all[BASELINE].medianCaptureMs)}`,
    });
    targets.push({
      target: `no page more than one point worse than ${BASELINE}`,
      pass: worse.length === 0,
      detail: worse.length ? worse.map((w) => w.id).join(', ') : 'none',
    });
  }
  return { subsets, noise, worse, targets };
}

export function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(x < 0.1 && x > 0 ? 2 : 1)}%` : '-';
}
function ms(x: number): string {
  return Number.isFinite(x) ? `${(x / 1000).toFixed(2)}s` : '-';
}
function kb(x: number): string {
  return Number.isFinite(x) ? `${Math.round(x / 1024)}k` : '-';
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))
    .join('\n');
}

const LABEL: Record<string, string> = { htbase: 'HT', 'single-file-cli': 'SF', monolith: 'MO' };

/** The per-page table: the page's noise, then for each tool viewport/full diff, leaks, text, size, time, good. */
export function pageTable(pages: readonly PageResult[], tools: readonly string[]): string {
  const head = ['page', 'noise'];
  for (const t of tools) head.push(`${LABEL[t] ?? t} vp`, 'full', 'leak', 'text', 'size', 'time', 'ok');
  const rows = [head];
  for (const p of pages) {
    const r = [p.id, p.original.ok ? (p.noise ? pct(p.noise.fullDiff) : '-') : 'ORIG FAILED'];
    for (const t of tools) {
      const x = p.tools[t];
      if (!x) {
        r.push('-', '-', '-', '-', '-', '-', '-');
        continue;
      }
      if (!x.ok) {
        r.push('FAIL', '-', '-', '-', '-', ms(x.captureMs), 'no');
        continue;
      }
      r.push(
        pct(x.viewportDiff),
        pct(x.fullDiff),
        String(x.leaks),
        x.textSimilarity.toFixed(3),
        kb(x.bytes),
        ms(x.captureMs),
        x.good ? 'yes' : 'no',
      );
    }
    rows.push(r);
  }
  return table(rows);
}

export function summaryTable(summary: Summary, tools: readonly string[]): string {
  const head = [
    'subset',
    'tool',
    'pages',
    'good',
    'share',
    'leaks',
    'fail',
    'text med',
    'full med',
    'vp med',
    'time med',
    'time p95',
    'size med',
    'noise med',
  ];
  const rows = [head];
  for (const [g, byTool] of Object.entries(summary.subsets)) {
    for (const t of tools) {
      const a = byTool[t];
      rows.push([
        g,
        t,
        String(a.pages),
        String(a.good),
        pct(a.goodShare),
        `${a.leaks}/${a.pagesWithLeaks}p`,
        String(a.failures),
        a.medianTextSimilarity.toFixed(4),
        pct(a.medianFullDiff),
        pct(a.medianViewportDiff),
        ms(a.medianCaptureMs),
        ms(a.p95CaptureMs),
        kb(a.medianBytes),
        pct(summary.noise[g]?.medianFullDiff ?? Number.NaN),
      ]);
    }
  }
  return table(rows);
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A small self-contained report page: summary, targets, and the worst pages' images side by side. */
export function htmlReport(opts: {
  title: string;
  summaryText: string;
  pageText: string;
  targets: Summary['targets'];
  notes: string[];
  worst: Array<{ page: PageResult; images: Record<string, { full?: string; archive?: string }> }>;
  tools: readonly string[];
}): string {
  const cols = ['original', ...opts.tools];
  const sections = opts.worst
    .map(({ page, images }) => {
      const cells = cols
        .map((c) => {
          const t = page.tools[c];
          const caption =
            c === 'original'
              ? `original (noise ${page.noise ? pct(page.noise.fullDiff) : '-'}, height ${page.original.pageHeight})`
              : t
                ? `${c}: full ${pct(t.fullDiff)}, viewport ${pct(t.viewportDiff)}, leaks ${t.leaks}, text ${t.textSimilarity.toFixed(3)}, height ${t.pageHeight}${t.ok ? '' : ` FAILED: ${esc(t.error ?? '')}`}`
                : c;
          const img = images[c]?.full ? `<img src="${esc(images[c].full!)}" loading="lazy">` : '<p>(no image)</p>';
          const link = images[c]?.archive ? ` <a href="${esc(images[c].archive!)}">archive</a>` : '';
          return `<td><p>${esc(caption)}${link}</p>${img}</td>`;
        })
        .join('');
      return `<h3 id="${esc(page.id)}">${esc(page.id)} <small>${esc(page.url)}</small></h3><table><tr>${cells}</tr></table>`;
    })
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(opts.title)}</title>
<style>body{font:14px system-ui,sans-serif;margin:1em}pre{font-size:12px;overflow:auto}td{vertical-align:top;width:${Math.floor(100 / cols.length)}%}
td img{width:100%;border:1px solid #999}table{width:100%;border-collapse:collapse}.pass{color:#070}.fail{color:#b00}</style></head><body>
<h1>${esc(opts.title)}</h1>
<h2>Targets (issue 4)</h2><ul>${opts.targets.map((t) => `<li class="${t.pass ? 'pass' : 'fail'}">${t.pass ? 'PASS' : 'FAIL'} ${esc(t.target)}: ${esc(t.detail)}</li>`).join('')}</ul>
${opts.notes.length ? `<h2>Notes</h2><ul>${opts.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<h2>Summary</h2><pre>${esc(opts.summaryText)}</pre>
<h2>Worst pages (full page, cut for display; original | ${opts.tools.map(esc).join(' | ')})</h2>
${sections}
<h2>All pages</h2><pre>${esc(opts.pageText)}</pre>
</body></html>
`;
}

// `npm run bench:capture [-- --limit N --corpus DIR]`: captures the corpus pages with the engine (one
// navigation, four formats) and, in the same run, with the baseline that loads the page once per format
// (one browser, three navigations: screenshot, PDF, SingleFile), then prints speed, stage times and RSS.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage, VIEWPORT } from '../../containers/browser/capture.ts';
import { installSingleFile, runSingleFile } from '../../containers/browser/singlefile.ts';
import { treeRssBytes } from '../../containers/browser/proc.ts';
import { BROWSER_FORMATS } from '../../shared/core/formats.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const { values: args } = parseArgs({
  options: {
    limit: { type: 'string' },
    corpus: { type: 'string', default: fileURLToPath(new URL('../../../shared/corpus', import.meta.url)) },
  },
});
const corpus = resolve(args.corpus!);
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as {
  roots: Record<string, string>;
  pages: Array<{ id: string; root: string; path: string }>;
};
const pages = manifest.pages.slice(0, args.limit ? Number(args.limit) : undefined);
const logger = silentLogger();

type Stage = 'navigate' | 'scroll' | 'screenshot' | 'pdf' | 'readable' | 'singlefile';
const STAGES: Stage[] = ['navigate', 'scroll', 'screenshot', 'pdf', 'readable', 'singlefile'];

interface RunStats {
  wallMs: number;
  perPageMs: number[];
  stages: Record<Stage, number[]>;
  peakRss: number;
  failures: number;
  failedPages: string[];
}

/** Samples the browser tree's RSS every 100 ms while `fn` runs. */
async function withRss<T>(pool: BrowserPool, fn: () => Promise<T>): Promise<{ value: T; peak: number }> {
  let peak = 0;
  const sample = () => {
    const pid = pool.pid();
    if (pid) peak = Math.max(peak, treeRssBytes(pid));
  };
  const timer = setInterval(sample, 100);
  try {
    const value = await fn();
    sample();
    return { value, peak };
  } finally {
    clearInterval(timer);
  }
}

function emptyStats(): RunStats {
  return {
    wallMs: 0,
    perPageMs: [],
    stages: Object.fromEntries(STAGES.map((s) => [s, []])) as unknown as Record<Stage, number[]>,
    peakRss: 0,
    failures: 0,
    failedPages: [],
  };
}

async function runEngine(urls: Array<{ id: string; url: string }>): Promise<RunStats> {
  const pool = new BrowserPool({ logger });
  const stats = emptyStats();
  try {
    await pool.browser(); // launch outside the timing: both runs start with a warm browser
    const { peak } = await withRss(pool, async () => {
      const start = performance.now();
      for (const { id, url } of urls) {
        const t0 = performance.now();
        try {
          const r = await capturePage(pool, { url, formats: BROWSER_FORMATS, logger });
          const t = r.timings;
          stats.stages.navigate.push((t.navigate ?? 0) + (t.settle ?? 0));
          stats.stages.scroll.push((t.scroll ?? 0) + (t.fonts ?? 0));
          for (const s of ['screenshot', 'pdf', 'readable', 'singlefile'] as const)
            if (t[s] !== undefined) stats.stages[s].push(t[s]!);
          const failed = Object.values(r.results).filter((x) => !x?.ok).length;
          stats.failures += failed;
          if (failed) stats.failedPages.push(id);
        } catch {
          stats.failures += BROWSER_FORMATS.length;
          stats.failedPages.push(id);
        }
        stats.perPageMs.push(performance.now() - t0);
      }
      stats.wallMs = performance.now() - start;
    });
    stats.peakRss = peak;
  } finally {
    await pool.close();
  }
  return stats;
}

/** What a capture without the one-navigation design does: open the page anew for each format. */
async function runBaseline(urls: Array<{ id: string; url: string }>): Promise<RunStats> {
  const pool = new BrowserPool({ logger });
  const stats = emptyStats();
  const load = async (page: Page, url: string) => {
    await page.setViewport(VIEWPORT);
    await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    await page.waitForNetworkIdle({ idleTime: 500, timeout: 10_000, concurrency: 0 }).catch(() => undefined);
  };
  try {
    await pool.browser();
    const { peak } = await withRss(pool, async () => {
      const start = performance.now();
      for (const { id, url } of urls) {
        const t0 = performance.now();
        let nav = 0;
        let failed = 0;
        const timedLoad = async (page: Page) => {
          const s = performance.now();
          await load(page, url);
          nav += performance.now() - s;
        };
        const one = async (stage: Stage, fn: (page: Page) => Promise<unknown>) => {
          try {
            await pool.withContext(async (context) => {
              const page = await context.newPage();
              page.on('dialog', (d) => void d.dismiss().catch(() => undefined));
              const cdp = await page.createCDPSession();
              const dispose = stage === 'singlefile' ? await installSingleFile(cdp, { logger }) : () => {};
              try {
                await timedLoad(page);
                const s = performance.now();
                // SingleFile with the CLI's defaults, its own deferred-image loader included
                await (stage === 'singlefile'
                  ? runSingleFile(cdp, {
                      timeoutMs: 60_000,
                      maxBytes: 200 * 1024 * 1024,
                      options: { loadDeferredImages: true },
                    })
                  : fn(page));
                stats.stages[stage].push(performance.now() - s);
              } finally {
                dispose();
              }
            });
          } catch {
            failed++;
          }
        };
        await one('screenshot', (page) =>
          page.screenshot({ type: 'png', fullPage: true, captureBeyondViewport: false }),
        );
        await one('pdf', (page) => page.pdf({ format: 'A4', printBackground: true, timeout: 30_000 }));
        await one('singlefile', async () => undefined);
        stats.stages.navigate.push(nav);
        stats.failures += failed;
        if (failed) stats.failedPages.push(id);
        stats.perPageMs.push(performance.now() - t0);
      }
      stats.wallMs = performance.now() - start;
    });
    stats.peakRss = peak;
  } finally {
    await pool.close();
  }
  return stats;
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]!;
}

const fmt = (ms: number) => (Number.isNaN(ms) ? '-' : `${Math.round(ms)}`);

async function main() {
  const servers = new Map<string, StaticServer>();
  try {
    for (const root of new Set(pages.map((p) => p.root))) servers.set(root, await serveDir(join(corpus, root)));
    const urls = pages.map((p) => ({ id: p.id, url: servers.get(p.root)!.origin + p.path }));
    process.stdout.write(`capturing ${urls.length} pages from ${corpus}\n`);
    const engine = await runEngine(urls);
    process.stdout.write(`engine done in ${fmt(engine.wallMs)} ms\n`);
    const baseline = await runBaseline(urls);
    process.stdout.write(`baseline done in ${fmt(baseline.wallMs)} ms\n\n`);

    const rows: string[][] = [['', 'engine (1 navigation, 4 formats)', 'baseline (3 navigations, 3 formats)']];
    const ppm = (s: RunStats) => ((urls.length / s.wallMs) * 60_000).toFixed(1);
    rows.push(['pages per minute', ppm(engine), ppm(baseline)]);
    rows.push([
      'per page ms median / p95',
      `${fmt(quantile(engine.perPageMs, 0.5))} / ${fmt(quantile(engine.perPageMs, 0.95))}`,
      `${fmt(quantile(baseline.perPageMs, 0.5))} / ${fmt(quantile(baseline.perPageMs, 0.95))}`,
    ]);
    for (const s of STAGES) {
      const cell = (r: RunStats) =>
        r.stages[s].length ? `${fmt(quantile(r.stages[s], 0.5))} / ${fmt(quantile(r.stages[s], 0.95))}` : '-';
      rows.push([`${s} ms median / p95`, cell(engine), cell(baseline)]);
    }
    rows.push([
      'peak browser RSS (MiB, sum over tree)',
      (engine.peakRss / 2 ** 20).toFixed(0),
      (baseline.peakRss / 2 ** 20).toFixed(0),
    ]);
    rows.push(['failed artifacts', String(engine.failures), String(baseline.failures)]);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) process.stdout.write(r.map((c, i) => c.padEnd(widths[i]!)).join('  ') + '\n');
    process.stdout.write(
      '\nnavigate = goto + load/network-idle wait (baseline: summed over its 3 loads); scroll = scroll + fonts.\n',
    );
    if (engine.failedPages.length)
      process.stdout.write(`engine pages with failures: ${engine.failedPages.join(', ')}\n`);
    if (baseline.failedPages.length)
      process.stdout.write(`baseline pages with failures: ${baseline.failedPages.join(', ')}\n`);
  } finally {
    for (const s of servers.values()) await s.close();
  }
}

await main();

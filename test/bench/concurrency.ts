// `npm run bench:concurrency [-- --pages N --levels 1,2,4,8]`: one browser worker (one Chromium behind the egress
// proxy, as deployed) capturing corpus pages in every browser format at 1, 2, 4 and 8 at once: pages per minute and
// peak memory (the worker's RSS plus its Chromium processes'), which set Cloud Run's concurrency (issue 17).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { treeRssBytes } from '../../containers/browser/proc.ts';
import { BROWSER_FORMATS } from '../../shared/core/formats.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { startEgressProxy } from '../../shared/net/egress-proxy.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const { values: args } = parseArgs({
  options: {
    pages: { type: 'string', default: '16' },
    levels: { type: 'string', default: '1,2,4,8' },
    corpus: { type: 'string', default: fileURLToPath(new URL('../../../shared/corpus', import.meta.url)) },
  },
});
const corpus = resolve(args.corpus!);
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as {
  pages: Array<{ id: string; root: string; path: string }>;
};
const levels = args.levels!.split(',').map(Number);
const out = (s: string) => process.stdout.write(s + '\n');
const MiB = 2 ** 20;

interface Level {
  concurrency: number;
  pages: number;
  wallMs: number;
  peakRss: number;
  peakWorker: number;
  failed: number;
}

async function runLevel(pool: BrowserPool, urls: string[], concurrency: number): Promise<Level> {
  const logger = silentLogger();
  let peakRss = 0;
  let peakWorker = 0;
  const sample = () => {
    const worker = process.memoryUsage().rss;
    const pid = pool.pid();
    peakWorker = Math.max(peakWorker, worker);
    peakRss = Math.max(peakRss, worker + (pid ? treeRssBytes(pid) : 0));
  };
  const timer = setInterval(sample, 100);
  let next = 0;
  let failed = 0;
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < urls.length) {
          const url = urls[next++]!;
          try {
            const r = await capturePage(pool, { url, formats: BROWSER_FORMATS, logger });
            failed += Object.values(r.results).filter((x) => !x?.ok).length;
          } catch {
            failed += BROWSER_FORMATS.length;
          }
        }
      }),
    );
  } finally {
    clearInterval(timer);
  }
  sample();
  return { concurrency, pages: urls.length, wallMs: performance.now() - start, peakRss, peakWorker, failed };
}

async function main() {
  const logger = silentLogger();
  const servers = new Map<string, StaticServer>();
  const proxy = await startEgressProxy({ allowPrivateNetworks: true, logger });
  const pool = new BrowserPool({
    logger,
    executablePath: process.env.CHROME_PATH || undefined,
    proxyServer: proxy.url,
  });
  const results: Level[] = [];
  try {
    const pages = manifest.pages.slice(0, Number(args.pages));
    for (const root of new Set(pages.map((p) => p.root))) servers.set(root, await serveDir(join(corpus, root)));
    const urls = pages.map((p) => servers.get(p.root)!.origin + p.path);
    await pool.browser(); // a warm worker: launch time is not throughput
    await runLevel(pool, urls.slice(0, 2), 1);
    for (const c of levels) {
      // Every level captures the same pages, in the same order; at least two rounds of its own width.
      const list = Array.from({ length: Math.max(urls.length, 2 * c) }, (_, i) => urls[i % urls.length]!);
      const r = await runLevel(pool, list, c);
      results.push(r);
      process.stderr.write(
        `concurrency ${c}: ${r.pages} pages in ${(r.wallMs / 1000).toFixed(1)} s, peak ${(r.peakRss / MiB).toFixed(0)} MiB\n`,
      );
    }
  } finally {
    await pool.close();
    await proxy.close();
    for (const s of servers.values()) await s.close();
  }
  const base = results[0]!;
  const ppm = (r: Level) => (r.pages / r.wallMs) * 60_000;
  out(`\none browser worker, ${base.pages} corpus pages per level, formats ${BROWSER_FORMATS.join(',')}`);
  out('at once  pages/min  vs 1 at once  per page s  peak MiB (worker+chromium)  worker MiB  failed artifacts');
  for (const r of results)
    out(
      [
        String(r.concurrency).padStart(7),
        ppm(r).toFixed(1).padStart(9),
        `${(ppm(r) / ppm(base)).toFixed(2)}x`.padStart(12),
        (r.wallMs / r.pages / 1000).toFixed(2).padStart(10),
        (r.peakRss / MiB).toFixed(0).padStart(27),
        (r.peakWorker / MiB).toFixed(0).padStart(10),
        String(r.failed).padStart(17),
      ].join('  '),
    );
  out(`(${process.env.CHROME_PATH ?? 'bundled chromium'}; ${(await import('node:os')).cpus().length} cores)`);
}

await main();

// `npm run bench:fidelity [-- --corpus DIR --limit N --only ID[,ID] --subset NAME --extra-npm DIR --worst N]`:
// archives every corpus page with HT Base and, in the same run, with the upstream single-file-cli (and monolith
// when a real binary is on PATH), renders originals and archives in one Chromium and scores them (issue 4).
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { resolveChromium } from '../../containers/browser/chromium.ts';
import { findMonolith, monolithVersion } from '../../containers/monolith/monolith.ts';
import { startEgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import {
  OFFLINE_RESOLVER_ARG,
  captureHtBase,
  captureMonolith,
  captureSingleFileCli,
  killRunningClis,
  type Archive,
} from './fidelity/capture.ts';
import { loadCorpus, SUBSETS, type BenchPage } from './fidelity/corpus.ts';
import { keepWorst, printResults } from './fidelity/output.ts';
import { BASELINE, HTBASE, htmlReport, summarize, type PageResult } from './fidelity/report.ts';
import { scorePage, type PageImages } from './fidelity/score.ts';
import { versusBaseline } from './fidelity/versus.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', default: join(repo, '..', 'shared', 'corpus') },
    limit: { type: 'string' },
    only: { type: 'string' },
    subset: { type: 'string' },
    'extra-npm': { type: 'string' },
    out: { type: 'string', default: join(repo, 'bench-reports') },
    worst: { type: 'string', default: '8' },
    concurrency: { type: 'string', default: '2' },
    'capture-timeout': { type: 'string', default: '120000' },
    /** HT Base's browser without the egress proxy the worker puts in front of it (isolates the engine). */
    direct: { type: 'boolean', default: false },
    /** Use the machine's resolver in the capture browsers instead of failing every non-loopback name at once. */
    'real-dns': { type: 'boolean', default: false },
  },
});

const out = (s: string) => process.stdout.write(s + '\n');
const progress = (s: string) => process.stderr.write(s + '\n');

function defaultExtraNpm(corpus: string): string {
  if (process.env.EXTRA_NPM_DIR) return process.env.EXTRA_NPM_DIR;
  if (existsSync('/tmp/htbase-extra-npm/node_modules')) return '/tmp/htbase-extra-npm';
  return join(corpus, 'extra', 'npm');
}

function selectPages(pages: BenchPage[]): BenchPage[] {
  let sel = pages;
  if (args.subset) {
    if (!SUBSETS.includes(args.subset as never)) throw new Error(`--subset must be one of ${SUBSETS.join(', ')}`);
    sel = sel.filter((p) => p.subset === args.subset);
  }
  if (args.only) {
    const ids = new Set(args.only.split(','));
    sel = sel.filter((p) => ids.has(p.id));
    if (sel.length === 0) throw new Error(`--only ${args.only}: no such page`);
  }
  if (args.limit) sel = sel.slice(0, Number(args.limit));
  return sel;
}

/** Runs `fn` over `items` with at most `n` at a time, in order of start. */
async function eachLimit<T>(items: readonly T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

async function main(): Promise<void> {
  const runStarted = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const corpusDir = resolve(args.corpus!);
  const extraNpm = resolve(args['extra-npm'] ?? defaultExtraNpm(corpusDir));
  const corpus = loadCorpus(corpusDir, extraNpm);
  const pages = selectPages(corpus.pages);
  const notes = [...corpus.notes];
  const logger = silentLogger();
  const reportDir = resolve(args.out!);
  const imgDirName = `fidelity-${stamp}`;
  const imgDir = join(reportDir, imgDirName);
  mkdirSync(imgDir, { recursive: true });

  const executablePath = process.env.CHROME_PATH || undefined;
  const spec = await resolveChromium({ executablePath });
  const monolithBin = await findMonolith(undefined, process.env.PATH ?? '');
  let monolith: string | null = null;
  if (monolithBin) {
    try {
      notes.push(`monolith ${await monolithVersion(monolithBin)} at ${monolithBin}`);
      monolith = monolithBin;
    } catch (err) {
      notes.push(`monolith at ${monolithBin} is not usable (${(err as Error).message}); monolith rows skipped`);
    }
  } else {
    notes.push('monolith: no real binary on PATH; monolith rows skipped');
  }
  const tools = [HTBASE, BASELINE, ...(monolith ? ['monolith'] : [])];

  const servers = new Map<string, StaticServer>();
  const proxy = await startEgressProxy({ allowPrivateNetworks: true, logger });
  const captureArgs = args['real-dns'] ? [] : [OFFLINE_RESOLVER_ARG];
  if (args.direct)
    notes.push('htbase captured WITHOUT the egress proxy (--direct): engine only, not the worker as deployed');
  else notes.push('htbase captured behind the egress proxy, as the worker runs it');
  if (!args['real-dns'])
    notes.push(
      'capture browsers fail every non-loopback host name at once (offline resolver); --real-dns to use the machine resolver',
    );
  // HT Base captures as its worker does: its own pool behind the egress proxy. Rendering has its own browser,
  // always offline (originals' absolute URLs fail at once, as they would with no network).
  const capturePool = new BrowserPool({
    logger,
    executablePath,
    proxyServer: args.direct ? undefined : proxy.url,
    extraArgs: captureArgs,
  });
  const renderPool = new BrowserPool({ logger, executablePath, extraArgs: [OFFLINE_RESOLVER_ARG] });
  const results: PageResult[] = [];
  // Interrupted: nothing of ours may outlive the run (the CLI's Chromium is in its own process group).
  const onSignal = (sig: NodeJS.Signals) => {
    progress(`bench:fidelity: ${sig}, cleaning up`);
    killRunningClis();
    void Promise.allSettled([capturePool.close(), renderPool.close(), proxy.close()]).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const origin of new Set(pages.map((p) => p.origin))) servers.set(origin, await serveDir(corpus.roots[origin]));
    const blank = await serveDir(corpusDir, {
      routes: {
        '/__blank.html': (_req, res) =>
          void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>blank</title><p>blank'),
      },
    });
    servers.set('blank', blank);
    const browserVersion = await (await renderPool.browser()).version();
    await capturePool.browser(); // warm, as a worker's browser is: launch time is not capture time

    // What a capture costs on an empty page: the fixed part of each tool's time (the CLI launches a browser each run).
    const overhead: Record<string, number> = {};
    {
      const blankUrl = `${blank.origin}/__blank.html`;
      const times = { ht: [] as number[], cli: [] as number[] };
      for (let i = 0; i < 2; i++) {
        times.ht.push((await captureHtBase(capturePool, blankUrl, logger)).ms);
        times.cli.push(
          (
            await captureSingleFileCli(blankUrl, {
              executablePath: spec.executablePath,
              browserArgs: captureArgs,
              timeoutMs: 60_000,
              logger,
            })
          ).ms,
        );
      }
      overhead[HTBASE] = Math.min(...times.ht);
      overhead[BASELINE] = Math.min(...times.cli);
    }
    progress(
      `fidelity: ${pages.length} pages, ${tools.join(' + ')}; chromium ${browserVersion} (${spec.executablePath})`,
    );
    for (const n of notes) progress(`note: ${n}`);
    progress(`empty-page capture time: htbase ${overhead[HTBASE]} ms, single-file-cli ${overhead[BASELINE]} ms`);

    // Phase 1: captures, one at a time so each tool's time is its own; tools alternate page by page.
    const archives = new Map<string, Record<string, Archive>>();
    const captureTimeout = Number(args['capture-timeout']);
    const t1 = Date.now();
    for (const [i, p] of pages.entries()) {
      const url = servers.get(p.origin)!.origin + p.path;
      const a: Record<string, Archive> = {};
      a[HTBASE] = await captureHtBase(capturePool, url, logger);
      a[BASELINE] = await captureSingleFileCli(url, {
        executablePath: spec.executablePath,
        browserArgs: captureArgs,
        timeoutMs: captureTimeout,
        logger,
      });
      if (monolith)
        a.monolith = await captureMonolith(url, {
          binary: monolith,
          proxyUrl: proxy.url,
          logger,
          timeoutMs: captureTimeout,
        });
      archives.set(p.id, a);
      progress(
        `capture ${i + 1}/${pages.length} ${p.id}: ${tools.map((t) => `${t} ${a[t].ok ? `${a[t].ms} ms` : `FAILED (${a[t].error})`}`).join(', ')}`,
      );
    }
    await capturePool.close();
    const captureMs = Date.now() - t1;

    // Phase 2: rendering and scoring (not timed against anything; two pages at a time in one browser).
    const t2 = Date.now();
    const byId = new Map<string, PageResult>();
    const images = new Map<string, PageImages>();
    await eachLimit(pages, Number(args.concurrency), async (p, i) => {
      const url = servers.get(p.origin)!.origin + p.path;
      const scored = await scorePage(renderPool, p, url, archives.get(p.id)!, tools, { imgDir, imgDirName });
      const { result, original: o1 } = scored;
      byId.set(p.id, result);
      images.set(p.id, scored.imgs);
      const h = result.tools[HTBASE];
      const b = result.tools[BASELINE];
      progress(
        `render ${i + 1}/${pages.length} ${p.id}: noise ${result.noise ? (result.noise.fullDiff * 100).toFixed(2) : '-'}%` +
          `, htbase full ${(h.fullDiff * 100).toFixed(2)}% leaks ${h.leaks}, single-file-cli full ${(b.fullDiff * 100).toFixed(2)}% leaks ${b.leaks}` +
          (o1.ok ? '' : ` (original failed: ${o1.error})`),
      );
    });
    const renderMs = Date.now() - t2;
    for (const p of pages) results.push(byId.get(p.id)!);

    const summary = summarize(results, tools);
    const { pageText, summaryText } = printResults(out, { results, tools, summary, overhead, notes });
    const worst = keepWorst({ results, summary, tools, images, archives }, Number(args.worst), {
      reportDir,
      imgDir,
      imgDirName,
    });
    const jsonPath = join(reportDir, `fidelity-${stamp}.json`);
    const htmlPath = join(reportDir, `fidelity-${stamp}.html`);
    const report = {
      startedAt: new Date(runStarted).toISOString(),
      durationMs: Date.now() - runStarted,
      captureMs,
      renderMs,
      corpus: corpusDir,
      extraNpm,
      chromium: { executablePath: spec.executablePath, version: browserVersion },
      tools,
      emptyPageCaptureMs: overhead,
      method: {
        viewport: '1280x800',
        pixelThreshold: 0.1,
        good: 'full-page difference <= 1% and zero leaks',
        archiveOrigin: 'request interception at a fake origin; every other request aborted and counted',
        fullPageCutPx: 16384,
      },
      notes,
      selfCheck: 'passed (every original scored 0 against itself)',
      summary,
      versus: tools.includes(BASELINE) ? versusBaseline(results) : null,
      pages: results,
    };
    writeFileSync(jsonPath, JSON.stringify(report, null, 2));
    writeFileSync(
      htmlPath,
      htmlReport({
        title: `HT Base fidelity ${report.startedAt}`,
        summaryText,
        pageText,
        targets: summary.targets,
        notes,
        worst: worst.map((page) => ({ page, images: images.get(page.id) ?? {} })),
        tools,
      }),
    );
    out(`\nreport: ${jsonPath}\n        ${htmlPath}`);
    out(
      `run took ${((Date.now() - runStarted) / 1000).toFixed(0)} s (captures ${(captureMs / 1000).toFixed(0)} s, rendering ${(renderMs / 1000).toFixed(0)} s)`,
    );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await capturePool.close();
    await renderPool.close();
    await proxy.close();
    for (const s of servers.values()) await s.close();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:fidelity failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});

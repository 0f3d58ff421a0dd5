// `npm run bench:fidelity [-- --corpus DIR --limit N --only ID[,ID] --subset NAME --extra-npm DIR --worst N]`:
// archives every corpus page with HT Base and, in the same run, with the upstream single-file-cli (and monolith
// when a real binary is on PATH), renders originals and archives in one Chromium and scores them (issue 4).
import { mkdirSync, writeFileSync, existsSync, rmSync } from 'node:fs';
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
import { crop, decodePng, encodePng, pixelDiff, textSimilarity, tokenize, type RawImage } from './fidelity/metrics.ts';
import { render, type Rendering } from './fidelity/render.ts';
import {
  BASELINE,
  HTBASE,
  failedTool,
  finishTool,
  htmlReport,
  pageTable,
  summarize,
  summaryTable,
  type PageResult,
  type ToolResult,
} from './fidelity/report.ts';

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

/** Report images are cut to this height: enough to see what differs, small enough to open. */
const REPORT_IMAGE_HEIGHT = 5_000;
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

interface Scored {
  result: ToolResult;
  full: RawImage | null;
}

/** Scores one archive rendering against the original's first load. */
function score(
  archive: Archive,
  r: Rendering | null,
  orig: { viewport: RawImage; full: RawImage; text: string },
): Scored {
  if (!archive.ok || !archive.html)
    return { result: failedTool(archive.ms, archive.error ?? 'capture failed'), full: null };
  if (!r?.ok || !r.viewport || !r.full) {
    return {
      result: {
        ...failedTool(archive.ms, `archive did not render: ${r?.error ?? 'no rendering'}`),
        bytes: archive.html.length,
        leaks: r?.leaks ?? 0,
        leakedUrls: r?.leakedUrls ?? [],
      },
      full: null,
    };
  }
  const full = decodePng(r.full);
  return {
    result: finishTool({
      ok: true,
      captureMs: archive.ms,
      bytes: archive.html.length,
      viewportDiff: pixelDiff(orig.viewport, decodePng(r.viewport)).fraction,
      fullDiff: pixelDiff(orig.full, full).fraction,
      textSimilarity: textSimilarity(orig.text, r.text),
      leaks: r.leaks,
      leakedUrls: r.leakedUrls,
      pageHeight: r.pageHeight,
    }),
    full,
  };
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
    const images = new Map<string, Record<string, { full?: string; archive?: string }>>();
    await eachLimit(pages, Number(args.concurrency), async (p, i) => {
      const url = servers.get(p.origin)!.origin + p.path;
      const a = archives.get(p.id)!;
      const o1 = await render(renderPool, { url });
      const o2 = await render(renderPool, { url });
      const rendered: Record<string, Rendering | null> = {};
      for (const t of tools) rendered[t] = a[t].ok && a[t].html ? await render(renderPool, { html: a[t].html! }) : null;
      const result: PageResult = {
        id: p.id,
        subset: p.subset,
        url,
        original: { ok: o1.ok, error: o1.error, pageHeight: o1.pageHeight, textTokens: tokenize(o1.text).length },
        noise: null,
        tools: {},
      };
      const imgs: Record<string, { full?: string; archive?: string }> = {};
      const saveImage = (name: string, img: RawImage) => {
        const file = `${p.id}-${name}.png`;
        writeFileSync(join(imgDir, file), encodePng(crop(img, img.width, REPORT_IMAGE_HEIGHT)));
        imgs[name] = { full: `${imgDirName}/${file}` };
      };
      if (o1.ok && o1.viewport && o1.full) {
        const orig = { viewport: decodePng(o1.viewport), full: decodePng(o1.full), text: o1.text };
        // Self-check: the original against itself must score exactly 0 (and text 1), or the metric is broken.
        const self = pixelDiff(orig.full, orig.full);
        if (
          self.fraction !== 0 ||
          pixelDiff(orig.viewport, orig.viewport).fraction !== 0 ||
          textSimilarity(orig.text, orig.text) !== 1
        ) {
          throw new Error(`self-check failed on ${p.id}: original vs itself scored ${self.fraction}`);
        }
        if (o2.ok && o2.viewport && o2.full) {
          result.noise = {
            viewportDiff: pixelDiff(orig.viewport, decodePng(o2.viewport)).fraction,
            fullDiff: pixelDiff(orig.full, decodePng(o2.full)).fraction,
            textSimilarity: textSimilarity(orig.text, o2.text),
          };
        }
        saveImage('original', orig.full);
        for (const t of tools) {
          const s = score(a[t], rendered[t], orig);
          result.tools[t] = s.result;
          if (s.full) saveImage(t, s.full);
        }
      } else {
        for (const t of tools)
          result.tools[t] = {
            ...failedTool(a[t].ms, 'original did not render'),
            ok: a[t].ok,
            bytes: a[t].html?.length ?? 0,
          };
      }
      byId.set(p.id, result);
      images.set(p.id, imgs);
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

    // Every page not good for HT Base (the worst N first) and every page where it is worse than the baseline
    // keeps its images and archives.
    const worstIds = new Set([
      ...results
        .filter((r) => r.original.ok && r.tools[HTBASE].fullDiff > 0)
        .sort((x, y) => y.tools[HTBASE].fullDiff - x.tools[HTBASE].fullDiff)
        .slice(0, Number(args.worst))
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
          writeFileSync(join(imgDir, `${id}-${t}.html`), html);
          (imgs[t] ??= {}).archive = `${imgDirName}/${id}-${t}.html`;
        }
        continue;
      }
      for (const v of Object.values(imgs)) if (v.full) rmSync(join(reportDir, v.full), { force: true });
    }
    const worst = results
      .filter((r) => worstIds.has(r.id))
      .sort((x, y) => y.tools[HTBASE].fullDiff - x.tools[HTBASE].fullDiff);
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

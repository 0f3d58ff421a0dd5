// `npm run bench:capture [-- --rounds N --page PATH --all-formats]`: on a fixture page, in one run and round by
// round, the limit (warm browser, one bare navigation, screenshot + PDF + SingleFile), HT Base from POST /archive
// to its three browser artifacts succeeded (single-process mode, with a per-stage trace) and the ArchiveBox style.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { resolveChromium } from '../../containers/browser/chromium.ts';
import { EmbeddedConfig } from '../../containers/standalone/config.ts';
import { startEmbedded } from '../../containers/standalone/app.ts';
import { loadConfig } from '../../shared/core/config.ts';
import { startEgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir } from '../support/static-server.ts';
import { archiveBoxCapture, limitCapture } from './capture/pipelines.ts';
import { TRACE, htbaseCapture, recordingLogger, type Traced } from './capture/trace.ts';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    page: { type: 'string', default: '/index.html' },
    /** Also ask for readable (the API's default is every format); the figure is the three browser artifacts. */
    'all-formats': { type: 'boolean', default: false },
    /** A real PostgreSQL for the single-process server instead of its embedded PGlite. */
    'database-url': { type: 'string' },
  },
});
const rounds = Number(args.rounds);
const formats = args['all-formats']
  ? ['screenshot', 'pdf', 'singlefile', 'readable']
  : ['screenshot', 'pdf', 'singlefile'];
const out = (s: string) => process.stdout.write(s + '\n');
const progress = (s: string) => process.stderr.write(s + '\n');
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};
const timed = async (fn: () => Promise<unknown>) => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};

async function main() {
  const site = await serveDir(fileURLToPath(new URL('../fixtures/site', import.meta.url)));
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-capture-'));
  const spec = await resolveChromium({ executablePath: process.env.CHROME_PATH || undefined });
  const logger = silentLogger();
  const rec = recordingLogger();
  const finalized = new Map<string, number[]>();
  const config = loadConfig(EmbeddedConfig, {
    HTBASE_DATA_DIR: dataDir,
    HTBASE_ALLOW_PRIVATE_NETWORKS: 'true',
    PORT: '0',
    HOST: '127.0.0.1',
    SWEEP_INTERVAL_SECONDS: '3600',
    SUMMARIZER: 'extractive',
    ...(process.env.CHROME_PATH ? { CHROME_PATH: process.env.CHROME_PATH } : {}),
    ...(args['database-url'] ? { DATABASE_URL: args['database-url'] } : {}),
  });
  const app = await startEmbedded({ config, logger: rec.logger, searchPath: '' });
  const off = app.blobs.onFinalize((ev) => {
    const id = ev.metadata.articleId ?? ev.name.split('/')[1]!;
    finalized.set(id, [...(finalized.get(id) ?? []), Date.now()]);
  });
  const limitPool = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH || undefined });
  // The same limit behind an egress proxy like HT Base's: what the SSRF guard on every request costs by itself.
  const proxy = await startEgressProxy({ allowPrivateNetworks: true, logger });
  const proxiedPool = new BrowserPool({
    logger,
    executablePath: process.env.CHROME_PATH || undefined,
    proxyServer: proxy.url,
  });
  const url = site.origin + args.page!;
  const times = { limit: [] as number[], proxied: [] as number[], htbase: [] as number[], archivebox: [] as number[] };
  const traces: Traced[] = [];
  const limitSteps: Array<Record<string, number>> = [];
  try {
    // Warm both browsers and the server (first-use costs are not capture costs), then alternate round by round.
    await limitCapture(limitPool, url, logger);
    await limitCapture(proxiedPool, url, logger);
    await htbaseCapture(app, { records: rec.records, finalized }, url, formats);
    progress(`bench:capture: ${url}, ${rounds} rounds, formats ${formats.join(',')}, chromium ${spec.executablePath}`);
    for (let i = 0; i < rounds; i++) {
      times.limit.push(await timed(async () => limitSteps.push((await limitCapture(limitPool, url, logger)).steps!)));
      times.proxied.push(await timed(() => limitCapture(proxiedPool, url, logger)));
      const tr = await htbaseCapture(app, { records: rec.records, finalized }, url, formats);
      traces.push(tr);
      times.htbase.push(tr.totalMs);
      times.archivebox.push(await timed(() => archiveBoxCapture(url, { executablePath: spec.executablePath, logger })));
      progress(
        `round ${i + 1}: limit ${times.limit.at(-1)!.toFixed(0)} ms, htbase ${tr.totalMs} ms, archivebox ${times.archivebox.at(-1)!.toFixed(0)} ms`,
      );
    }
  } finally {
    off();
    await limitPool.close();
    await proxiedPool.close();
    await proxy.close();
    await app.close();
    await site.close();
    await rm(dataDir, { recursive: true, force: true });
  }

  const lim = median(times.limit);
  const px = median(times.proxied);
  const ht = median(times.htbase);
  const ab = median(times.archivebox);
  out(`\nper capture, median of ${rounds} rounds (ms):`);
  out(`  limit (warm browser, one bare navigation)   ${lim.toFixed(0)}`);
  out(
    `  htbase (POST /archive to last artifact)     ${ht.toFixed(0)}   ${(ht / lim).toFixed(2)}x the limit (goal <= 1.10)`,
  );
  out(
    `  limit behind the egress proxy               ${px.toFixed(0)}   htbase is ${(ht / px).toFixed(2)}x this (the SSRF guard alone)`,
  );
  out(
    `  archivebox style (fresh browser each)       ${ab.toFixed(0)}   htbase is ${(ab / ht).toFixed(2)}x faster (goal >= 3)`,
  );
  out(`  (POST /archive answered its 202 in ${median(traces.map((t) => t.answerMs)).toFixed(0)} ms, median)`);
  out(
    `\nwhat the limit does not do and HT Base must: the egress proxy (SSRF guard on every request; the second line\n` +
      `adds it), the per-resource size check, consent banners (autoconsent), the network-idle wait after the scroll\n` +
      `(fetched lazy content), scroll steps of 85% of a screen (>= 50 ms apart on a page with a scroll handler), the\n` +
      `settle at the top, page metadata and checks, the thumbnail, storing with sha256, and the status writes. Same\n` +
      `viewport, same three outputs (screenshot, PDF, SingleFile HTML).`,
  );
  out(`\nhtbase per-stage trace (median ms over rounds; stages do not sum exactly to the median total):`);
  const w = Math.max(...TRACE.map((s) => s.length));
  for (const s of TRACE) {
    const xs = traces.map((t) => t.stages[s] ?? 0);
    out(`  ${s.padEnd(w)}  ${median(xs).toFixed(0).padStart(6)}   (min ${Math.min(...xs)}, max ${Math.max(...xs)})`);
  }
  out(`  ${'total'.padEnd(w)}  ${ht.toFixed(0).padStart(6)}   limit ${lim.toFixed(0)}`);
  out(
    `\nthe limit's steps (median ms): ${Object.keys(limitSteps[0] ?? {})
      .map((k) => `${k} ${median(limitSteps.map((x) => x[k]!)).toFixed(0)}`)
      .join(', ')}`,
  );
}

await main();

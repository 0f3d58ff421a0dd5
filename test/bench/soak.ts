// `npm run bench:soak [-- --captures 300 --every 25 --concurrency 2]`: archives pages through the embedded
// HT Base (API, bus, worker, browser) in a row and prints, every N captures, the Chromium process count,
// browser contexts, the browser tree's RSS and the Node heap: the last figures should equal the first.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { processTree, treeRssBytes } from '../../containers/browser/proc.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';

const { values: args } = parseArgs({
  options: {
    captures: { type: 'string', default: '300' },
    every: { type: 'string', default: '25' },
    concurrency: { type: 'string', default: '2' },
    corpus: { type: 'string', default: fileURLToPath(new URL('../../../shared/corpus', import.meta.url)) },
  },
});
const total = Number(args.captures);
const every = Number(args.every);
const concurrency = Number(args.concurrency);
const corpus = resolve(args.corpus!);
const manifest = JSON.parse(readFileSync(join(corpus, 'manifest.json'), 'utf8')) as {
  pages: Array<{ id: string; root: string; path: string }>;
};

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}
const chromiumPids = () => processTree(process.pid).filter((p) => p !== process.pid && /chrom/i.test(comm(p)));
const mib = (n: number) => (n / 1048576).toFixed(0);

const servers: StaticServer[] = [];
const dir = await tempDir('htbase-soak-');
const app = await startTestEmbedded(dir.path, { SUMMARY_RATE_PER_SECOND: '20', SUMMARY_MAX_CONCURRENT: '2' });
try {
  const origins = new Map<string, string>();
  for (const root of new Set(manifest.pages.map((p) => p.root))) {
    const s = await serveDir(join(corpus, root));
    servers.push(s);
    origins.set(root, s.origin);
  }
  const fixture = await serveDir(fileURLToPath(new URL('../fixtures/site/', import.meta.url)));
  servers.push(fixture);
  const urls = [`${fixture.origin}/index.html`, ...manifest.pages.map((p) => origins.get(p.root) + p.path)];

  const rows: string[][] = [
    [
      'captures',
      'chromium procs',
      'contexts',
      'browser RSS MiB',
      'node RSS MiB',
      'node heap MiB',
      'launches',
      'failed',
    ],
  ];
  let done = 0;
  let failed = 0;
  const sample = async () => {
    const browser = await app.pool.browser();
    const pid = app.pool.pid();
    rows.push([
      String(done),
      String(chromiumPids().length),
      String(browser.browserContexts().length),
      mib(pid ? treeRssBytes(pid) : 0),
      mib(process.memoryUsage().rss),
      mib(process.memoryUsage().heapUsed),
      String(app.pool.launches),
      String(failed),
    ]);
    process.stdout.write(`${rows[rows.length - 1]!.join('\t')}\n`);
  };
  process.stdout.write(
    `soak: ${total} captures (${urls.length} distinct pages, concurrency ${concurrency}), sample every ${every}\n${rows[0]!.join('\t')}\n`,
  );
  await sample();
  const started = Date.now();
  let next = 0;
  async function worker() {
    while (next < total) {
      const i = next++;
      const r = await http(app.url, '/archive', {
        method: 'POST',
        json: { url: urls[i % urls.length], formats: ['singlefile', 'pdf', 'screenshot', 'readable'], force: true },
      });
      const a: any = await waitFor(app.url, r.body.id, terminal, 180_000);
      if (a.status !== 'complete') failed++;
      done++;
      if (done % every === 0) {
        global.gc?.();
        await sample();
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  await app.idle();
  const secs = (Date.now() - started) / 1000;
  process.stdout.write(`\n${rows.map((r) => r.map((c) => c.padStart(15)).join('')).join('\n')}\n`);
  process.stdout.write(
    `\n${done} captures in ${secs.toFixed(0)} s (${((done / secs) * 60).toFixed(1)} per minute), ${failed} not complete\n`,
  );
  const first = rows[1]!;
  const last = rows[rows.length - 1]!;
  process.stdout.write(
    `first sample after warm-up vs last: chromium procs ${rows[2]?.[1] ?? first[1]} -> ${last[1]}, contexts ${rows[2]?.[2] ?? first[2]} -> ${last[2]}, browser RSS ${rows[2]?.[3] ?? first[3]} -> ${last[3]} MiB\n`,
  );
} finally {
  await app.close();
  for (const s of servers) await s.close();
  await dir.remove();
  process.stdout.write(`after close: ${chromiumPids().length} chromium processes left\n`);
}

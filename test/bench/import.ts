// `npm run bench:import [-- --urls 10000 --window 60 --baseline 10]`: imports a Netscape file of N URLs (two
// host names of the fixture site, in folders) into the single process and prints the time until every line is
// queued (POST /imports answered 202), the capture rate over the window, and the API's latency meanwhile beside
// the same requests measured on the idle server first (the baseline).
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveDir } from '../support/static-server.ts';
import { startTestEmbedded, tempDir } from '../support/embedded.ts';

const { values: args } = parseArgs({
  options: {
    urls: { type: 'string', default: '10000' },
    window: { type: 'string', default: '60' },
    baseline: { type: 'string', default: '10' },
    rate: { type: 'string', default: '20' },
    formats: { type: 'string', default: 'readable' },
  },
});
const N = Number(args.urls);
const WINDOW_S = Number(args.window);

const site = await serveDir(new URL('../fixtures/site/', import.meta.url).pathname);
const dir = await tempDir('htbase-bench-import-');
const app = await startTestEmbedded(dir.path, {
  RATE_LIMIT_PER_MINUTE: '100000',
  READ_RATE_LIMIT_PER_MINUTE: '1000000',
  IMPORT_RATE_PER_SECOND: args.rate!,
  IMPORT_MAX_IN_FLIGHT: '8',
  IMPORT_MAX_PER_HOST: '4',
  IMPORT_MAX_BYTES: String(64 * 1024 * 1024),
});
const port = new URL(site.origin).port;

function netscapeFile(n: number): Buffer {
  const parts = ['<!DOCTYPE NETSCAPE-Bookmark-file-1>\n<TITLE>Bookmarks</TITLE>\n<H1>Bookmarks</H1>\n<DL><p>\n'];
  const perFolder = 500;
  for (let f = 0; f * perFolder < n; f++) {
    parts.push(`<DT><H3>Folder ${f}</H3>\n<DL><p>\n`);
    for (let i = f * perFolder; i < Math.min(n, (f + 1) * perFolder); i++) {
      const host = i % 2 ? 'localhost' : '127.0.0.1';
      parts.push(
        `<DT><A HREF="http://${host}:${port}/index.html?n=${i}" ADD_DATE="${1600000000 + i}" TAGS="bench,t${i % 7}">Page ${i}</A>\n`,
      );
    }
    parts.push('</DL><p>\n');
  }
  parts.push('</DL><p>\n');
  return Buffer.from(parts.join(''));
}

/** Sequential GETs a client makes while it waits (the library list, the import's progress) until `stop`. */
async function probe(paths: () => string[], stop: () => boolean): Promise<number[]> {
  const ms: number[] = [];
  while (!stop()) {
    for (const p of paths()) {
      const t = performance.now();
      const r = await fetch(`${app.url}${p}`);
      await r.arrayBuffer();
      ms.push(performance.now() - t);
    }
  }
  return ms;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! : NaN;
};

try {
  // Baseline: the same probe on the idle server.
  let until = Date.now() + Number(args.baseline) * 1000;
  const idle = await probe(
    () => ['/archives?limit=20', '/healthz'],
    () => Date.now() > until,
  );

  const file = netscapeFile(N);
  const form = new FormData();
  form.set('formats', args.formats!);
  form.set('file', new Blob([new Uint8Array(file)]), 'bookmarks.html');
  const t0 = performance.now();
  const r = await fetch(`${app.url}/imports`, { method: 'POST', body: form });
  const accepted = (await r.json()) as { id: string; total: number };
  const queuedMs = performance.now() - t0;
  if (r.status !== 202) throw new Error(`POST /imports answered ${r.status}: ${JSON.stringify(accepted)}`);

  until = Date.now() + WINDOW_S * 1000;
  const start = Date.now();
  const samples: Array<{ t: number; archived: number; handed: number }> = [];
  const busy = probe(
    () => ['/archives?limit=20', `/imports/${accepted.id}`],
    () => Date.now() > until,
  );
  while (Date.now() < until) {
    const v = (await (await fetch(`${app.url}/imports/${accepted.id}`)).json()) as Record<string, number>;
    samples.push({ t: Date.now() - start, archived: v.archived!, handed: v.total! - v.waiting! - v.duplicates! });
    await sleep(1000);
  }
  const during = await busy;
  const last = samples.at(-1)!;
  const secs = last.t / 1000;

  const row = (name: string, a: string, b: string) =>
    console.log(`| ${name.padEnd(30)} | ${a.padStart(14)} | ${b.padStart(14)} |`);
  console.log(
    `\nbench:import — ${N} URLs (Netscape file, ${(file.length / 1024).toFixed(0)} KiB), formats ${args.formats}, ` +
      `rate ${args.rate}/s, 8 in flight, 4 per host, window ${WINDOW_S} s\n`,
  );
  row('', 'idle (baseline)', 'during import');
  row('-'.repeat(30), '-'.repeat(14), '-'.repeat(14));
  row('API requests measured', String(idle.length), String(during.length));
  row('API p50 (ms)', pct(idle, 50).toFixed(1), pct(during, 50).toFixed(1));
  row('API p99 (ms)', pct(idle, 99).toFixed(1), pct(during, 99).toFixed(1));
  row('API max (ms)', pct(idle, 100).toFixed(1), pct(during, 100).toFixed(1));
  console.log('');
  console.log(
    `time until all ${accepted.total} lines queued (POST /imports -> 202): ${(queuedMs / 1000).toFixed(2)} s`,
  );
  console.log(
    `lines handed to the capture workers: ${last.handed} in ${secs.toFixed(0)} s (${(last.handed / secs).toFixed(2)}/s)`,
  );
  console.log(`captures finished: ${last.archived} in ${secs.toFixed(0)} s (${(last.archived / secs).toFixed(2)}/s)`);
  const eta = last.archived ? ((N - last.archived) / (last.archived / secs) / 60).toFixed(0) : 'n/a';
  console.log(`at that rate the whole import finishes in about ${eta} min (it resumes after a restart)`);
} finally {
  await app.close();
  await site.close();
  await dir.remove();
}

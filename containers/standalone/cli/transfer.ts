// `htbase import FILE` (upload to POST /imports, then a progress bar until every line is archived, merged or
// failed, and the failed lines with their reasons) and `htbase export` (GET /export streamed to a file).
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';

export const TRANSFER_USAGE = `  htbase import <file> [--format F] [--formats singlefile,pdf,...] [--no-wait] [--server URL] [--json]
      F: netscape, pocket-html, pocket-csv, instapaper, karakeep, linkwarden, omnivore, wallabag, urls, htbase
      (detected when absent)
  htbase export [--format json|netscape|zip] [--output FILE|-] [--server URL]`;

type Out = (s: string) => void;
export interface TransferDeps {
  connect(server: string | undefined): Promise<{ base: string; embedded?: unknown; close(): Promise<void> }>;
  apiKey: string | undefined;
  out: Out;
  err: Out;
  /** Progress bars draw only on a terminal. */
  tty: boolean;
}

interface ImportView {
  status: string;
  total: number;
  waiting: number;
  capturing: number;
  archived: number;
  duplicates: number;
  failed: number;
  failures: Array<{ line: number; url: string; reason: string }>;
}

async function problemText(r: Response): Promise<string> {
  const text = await r.text();
  try {
    const p = JSON.parse(text) as { detail?: string; title?: string };
    return `${r.status} ${p.detail ?? p.title ?? r.statusText}`;
  } catch {
    return `${r.status} ${r.statusText}`;
  }
}

async function cmdImport(d: TransferDeps, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      formats: { type: 'string' },
      'no-wait': { type: 'boolean' },
      server: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const file = positionals[0];
  if (!file) {
    d.err(`import needs a file\n\n${TRANSFER_USAGE}`);
    return 2;
  }
  const bytes = await readFile(file);
  const auth: Record<string, string> = d.apiKey ? { authorization: `Bearer ${d.apiKey}` } : {};
  const c = await d.connect(values.server);
  try {
    const form = new FormData();
    if (values.format) form.set('format', values.format);
    if (values.formats) form.set('formats', values.formats);
    form.set('file', new Blob([new Uint8Array(bytes)]), basename(file));
    const r = await fetch(`${c.base}/imports`, {
      method: 'POST',
      headers: auth,
      body: form,
      signal: AbortSignal.timeout(120_000),
    });
    if (r.status !== 202) throw new Error(await problemText(r));
    const accepted = (await r.json()) as { id: string; format: string; total: number };
    if (!values.json) d.err(`import ${accepted.id}: ${accepted.total} lines (${accepted.format})`);
    if (values['no-wait']) {
      if (values.json) d.out(JSON.stringify(accepted));
      if (c.embedded) d.err('(embedded: the import continues the next time HT Base runs on this data directory)');
      return 0;
    }
    const bar =
      d.tty && !values.json
        ? new cliProgress.SingleBar(
            {
              format:
                ' {bar} {value}/{total} | archived {archived} · duplicates {duplicates} · failed {failed} · waiting {waiting}',
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          )
        : null;
    bar?.start(accepted.total, 0, { archived: 0, duplicates: 0, failed: 0, waiting: accepted.total });
    let v: ImportView;
    for (;;) {
      const g = await fetch(`${c.base}/imports/${accepted.id}`, { headers: auth, signal: AbortSignal.timeout(30_000) });
      if (g.status !== 200) throw new Error(await problemText(g));
      v = (await g.json()) as ImportView;
      bar?.update(v.archived + v.duplicates + v.failed, v as never);
      if (v.status === 'done') break;
      await sleep(500);
    }
    bar?.stop();
    if (values.json) {
      d.out(JSON.stringify(v));
    } else {
      d.out(`archived ${v.archived}, duplicates ${v.duplicates}, failed ${v.failed} of ${v.total}`);
      for (const f of v.failures.slice(0, 50)) d.out(`  line ${f.line}: ${f.reason}  ${f.url}`);
      if (v.failures.length > 50) d.out(`  ... and ${v.failures.length - 50} more (GET /imports/${accepted.id})`);
    }
    return 0;
  } finally {
    await c.close();
  }
}

async function cmdExport(d: TransferDeps, argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { format: { type: 'string' }, output: { type: 'string', short: 'o' }, server: { type: 'string' } },
  });
  const format = values.format ?? 'json';
  const ext = { json: 'json', netscape: 'html', zip: 'zip' }[format];
  if (!ext) {
    d.err(`unknown export format ${format}\n\n${TRANSFER_USAGE}`);
    return 2;
  }
  const target = values.output ?? `htbase-export-${new Date().toISOString().slice(0, 10)}.${ext}`;
  const c = await d.connect(values.server);
  try {
    const r = await fetch(`${c.base}/export?format=${format}`, {
      headers: d.apiKey ? { authorization: `Bearer ${d.apiKey}` } : {},
    });
    if (r.status !== 200 || !r.body) throw new Error(await problemText(r));
    // Streamed to disk as it arrives: a library of any size never sits in memory.
    await pipeline(Readable.fromWeb(r.body as never), target === '-' ? process.stdout : createWriteStream(target));
    if (target !== '-') d.err(`exported to ${target}`);
    return 0;
  } finally {
    await c.close();
  }
}

export function runTransferCommand(cmd: 'import' | 'export', argv: string[], d: TransferDeps): Promise<number> {
  return cmd === 'import' ? cmdImport(d, argv) : cmdExport(d, argv);
}

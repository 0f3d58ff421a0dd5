// The htbase CLI: archive a URL (against a running server, or embedded in this process), list, show,
// doctor and API keys. Output is for people; `--json` prints machine-readable results.
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../../shared/core/config.ts';
import { EmbeddedConfig } from '../config.ts';
import { createLogger, silentLogger } from '../../../shared/core/logger.ts';
import type { Embedded } from '../app.ts';
import { ACCOUNTS_USAGE } from './accounts.ts';
import { TRANSFER_USAGE } from './transfer.ts';

const USAGE = `Usage:
  htbase archive <url> [--formats singlefile,pdf,...] [--force] [--no-wait] [--server URL] [--json]
  htbase list [--q TEXT] [--url URL] [--status S] [--limit N] [--server URL] [--json]
  htbase show <id> [--server URL] [--json]
  htbase doctor
${TRANSFER_USAGE}
${ACCOUNTS_USAGE}
  htbase verify [--json]   every stored artifact re-hashed against its recorded sha256
  htbase backup FILE       the database and every artifact, from one snapshot (stop the server first on PGlite)
  htbase restore FILE      into an empty instance (a new database and data directory)
  (user and apikey use DATABASE_URL or the data directory)

Without --server (or HTBASE_SERVER) the CLI uses a server already running on 127.0.0.1:$PORT,
or else runs HT Base embedded in this process for the command.`;

type Out = (s: string) => void;
const out: Out = (s) => process.stdout.write(`${s}\n`);
const err: Out = (s) => process.stderr.write(`${s}\n`);

interface Client {
  base: string;
  embedded?: Embedded;
  close(): Promise<void>;
}

async function probe(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1500) });
    const body = (await r.json()) as { status?: string };
    return r.ok && body.status === 'ok';
  } catch {
    return false;
  }
}

async function connect(server: string | undefined): Promise<Client> {
  const explicit = server ?? process.env.HTBASE_SERVER;
  if (explicit) {
    if (!(await probe(explicit))) throw new Error(`no HT Base server answers at ${explicit}`);
    return { base: explicit.replace(/\/+$/, ''), close: async () => undefined };
  }
  const local = `http://127.0.0.1:${process.env.PORT ?? 8080}`;
  if (await probe(local)) return { base: local, close: async () => undefined };
  const { startEmbedded } = await import('../app.ts');
  const config = loadConfig(EmbeddedConfig, { ...process.env, PORT: '0', HOST: '127.0.0.1' });
  const logger = process.env.LOG_LEVEL
    ? createLogger({ component: 'cli', level: process.env.LOG_LEVEL, destination: process.stderr as never })
    : silentLogger();
  err(`(no server on ${local}; running HT Base embedded, data in ${config.HTBASE_DATA_DIR})`);
  const embedded = await startEmbedded({ config, logger, searchPath: process.env.PATH });
  return { base: embedded.url, embedded, close: () => embedded.close() };
}

async function api<T>(c: Client, path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (process.env.HTBASE_API_KEY) headers.authorization = `Bearer ${process.env.HTBASE_API_KEY}`;
  const send = () =>
    fetch(`${c.base}${path}`, {
      ...init,
      headers: { ...headers, ...(init?.headers as Record<string, string>) },
      signal: AbortSignal.timeout(30_000),
    });
  let r: Response;
  try {
    r = await send();
  } catch (err) {
    // Status polls are GETs and safe to repeat once after a dropped connection; anything else surfaces.
    if (init?.method && init.method !== 'GET') throw err;
    r = await send();
  }
  const text = await r.text();
  const body = text ? (JSON.parse(text) as T) : (undefined as T);
  if (r.status >= 400) {
    const p = body as { detail?: string; title?: string };
    throw new Error(`${r.status} ${p?.detail ?? p?.title ?? r.statusText}`);
  }
  return { status: r.status, body };
}

interface ArchiveView {
  id: string;
  url: string;
  finalUrl: string | null;
  status: string;
  title: string | null;
  warnings?: string[];
  artifacts: Array<{
    format: string;
    status: string;
    sizeBytes: number | null;
    errorCode: string | null;
    errorMessage: string | null;
  }>;
  summary: { provider: string; summary: string; keyPoints: string[] } | null;
  links: { artifacts: Record<string, string> };
}

const TERMINAL = new Set(['complete', 'partial', 'failed']);
const fmtSize = (n: number | null) =>
  n === null ? '' : n > 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(1)} KiB`;

function where(c: Client, a: ArchiveView, format: string): string {
  if (c.embedded) {
    const file = {
      singlefile: 'singlefile.html',
      monolith: 'monolith.html',
      pdf: 'page.pdf',
      screenshot: 'screenshot.png',
      readable: 'readable.json',
    }[format];
    if (file && c.embedded.blobs.pathOf) return c.embedded.blobs.pathOf(`articles/${a.id}/${file}`);
  }
  return `${c.base}${a.links.artifacts[format]}`;
}

function printArchive(c: Client, a: ArchiveView): void {
  out(`${a.id}  ${a.status}  ${a.title ?? ''}`);
  out(`  url: ${a.url}${a.finalUrl && a.finalUrl !== a.url ? `  (final: ${a.finalUrl})` : ''}`);
  if (a.warnings?.length) out(`  warnings: ${a.warnings.join(', ')}`);
  for (const x of a.artifacts) {
    const detail =
      x.status === 'succeeded'
        ? `${fmtSize(x.sizeBytes)}  ${where(c, a, x.format)}`
        : x.errorCode
          ? `${x.errorCode}: ${x.errorMessage ?? ''}`
          : '';
    out(`  ${x.format.padEnd(11)} ${x.status.padEnd(10)} ${detail}`);
  }
  if (a.summary) {
    out(`  summary (${a.summary.provider}): ${a.summary.summary}`);
    for (const k of a.summary.keyPoints.slice(0, 5)) out(`    - ${k}`);
  }
}

async function cmdArchive(
  c: Client,
  url: string,
  o: { formats?: string; force?: boolean; wait: boolean; json?: boolean },
): Promise<number> {
  const body: Record<string, unknown> = { url };
  if (o.formats)
    body.formats = o.formats
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  if (o.force) body.force = true;
  const r = await api<{ id: string; status: string; deduplicated: boolean }>(c, '/archive', {
    method: 'POST',
    body: JSON.stringify(body),
  });
  if (!o.json)
    err(
      `${r.body.deduplicated ? 'already archived recently (use --force for a new snapshot)' : 'accepted'}: ${r.body.id}`,
    );
  if (!o.wait) {
    if (o.json) out(JSON.stringify(r.body));
    return 0;
  }
  const seen = new Map<string, string>();
  const deadline = Date.now() + 10 * 60_000;
  let a: ArchiveView;
  for (;;) {
    a = (await api<ArchiveView>(c, `/archives/${r.body.id}`)).body;
    for (const x of a.artifacts) {
      if (seen.get(x.format) !== x.status) {
        seen.set(x.format, x.status);
        if (!o.json) err(`  ${x.format.padEnd(11)} ${x.status}${x.errorCode ? ` (${x.errorCode})` : ''}`);
      }
    }
    if (TERMINAL.has(a.status) || Date.now() > deadline) break;
    await sleep(400);
  }
  // The summary follows the readable text by a moment; wait for it briefly.
  const want = a.artifacts.some((x) => x.format === 'readable' && x.status === 'succeeded');
  for (let i = 0; want && !a.summary && i < 50; i++) {
    await sleep(300);
    a = (await api<ArchiveView>(c, `/archives/${r.body.id}`)).body;
  }
  if (o.json) out(JSON.stringify(a));
  else printArchive(c, a);
  return a.status === 'failed' ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  // The database commands parse their own options.
  if (argv[0] === 'verify') {
    const { runVerifyCommand } = await import('./verify.ts');
    return runVerifyCommand(argv.slice(1), out);
  }
  if (argv[0] === 'backup' || argv[0] === 'restore') {
    const { runBackupCommand } = await import('./backup.ts');
    return runBackupCommand(argv[0], argv.slice(1), out);
  }
  if (argv[0] === 'import' || argv[0] === 'export') {
    const { runTransferCommand } = await import('./transfer.ts');
    const tty = Boolean(process.stderr.isTTY);
    return runTransferCommand(argv[0], argv.slice(1), { connect, apiKey: process.env.HTBASE_API_KEY, out, err, tty });
  }
  if (argv[0] === 'apikey' || argv[0] === 'user') {
    const { runAccountsCommand } = await import('./accounts.ts');
    return runAccountsCommand(argv[0], argv.slice(1), out);
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      formats: { type: 'string' },
      force: { type: 'boolean' },
      'no-wait': { type: 'boolean' },
      server: { type: 'string' },
      json: { type: 'boolean' },
      q: { type: 'string' },
      url: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [cmd, ...rest] = positionals;
  if (values.help || !cmd) {
    out(USAGE);
    return cmd ? 0 : 2;
  }
  if (cmd === 'doctor') {
    const { runDoctor, formatDoctorReport } = await import('../doctor.ts');
    const reports = await runDoctor({
      chromePath: process.env.CHROME_PATH,
      monolithPath: process.env.MONOLITH_PATH,
      searchPath: process.env.PATH,
    } as never);
    out(formatDoctorReport(reports as never));
    return 0;
  }
  if (!['archive', 'list', 'show'].includes(cmd)) {
    err(`unknown command ${cmd}\n\n${USAGE}`);
    return 2;
  }
  if ((cmd === 'archive' || cmd === 'show') && !rest[0]) {
    err(`${cmd} needs an argument\n\n${USAGE}`);
    return 2;
  }
  const c = await connect(values.server);
  try {
    if (cmd === 'archive')
      return await cmdArchive(c, rest[0]!, {
        formats: values.formats,
        force: values.force,
        wait: !values['no-wait'],
        json: values.json,
      });
    if (cmd === 'show') {
      const a = (await api<ArchiveView>(c, `/archives/${encodeURIComponent(rest[0]!)}`)).body;
      values.json ? out(JSON.stringify(a)) : printArchive(c, a);
      return 0;
    }
    const qs = new URLSearchParams();
    for (const k of ['q', 'url', 'status', 'limit'] as const) if (values[k]) qs.set(k, values[k]!);
    const r = (
      await api<{
        items: Array<{ id: string; status: string; title: string | null; url: string; createdAt: string }>;
        nextCursor: string | null;
      }>(c, `/archives?${qs}`)
    ).body;
    if (values.json) out(JSON.stringify(r));
    else for (const i of r.items) out(`${i.id}  ${i.createdAt}  ${i.status.padEnd(8)}  ${i.title ?? ''}  ${i.url}`);
    return 0;
  } finally {
    await c.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    err(`htbase: ${e.message}`);
    process.exit(1);
  },
);

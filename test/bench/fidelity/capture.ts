// The archivers the fidelity benchmark compares, each timed from request to HTML in hand: HT Base's browser
// engine (capturePage, singlefile only, behind the egress proxy like the worker), the unmodified upstream
// single-file-cli as a child process (the baseline), and HT Base's monolith wrapper when a real binary exists.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type { BrowserPool } from '../../../containers/browser/browser-pool.ts';
import { capturePage } from '../../../containers/browser/capture.ts';
import { runMonolith } from '../../../containers/monolith/monolith.ts';
import type { Logger } from '../../../shared/core/logger.ts';

/**
 * Chromium flag that makes every name but loopback fail at once, as an offline machine's resolver does. The
 * corpus is served on 127.0.0.1; the readability pages' absolute URLs fail either way, but this sandbox's
 * resolver takes about 5 s to fail a burst of lookups, which would time the resolver instead of the tools.
 */
export const OFFLINE_RESOLVER_ARG = '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1';

export interface Archive {
  ok: boolean;
  html: Buffer | null;
  /** Wall time from the start of the capture to the HTML in hand. */
  ms: number;
  error?: string;
}

/** HT Base: one capturePage call with the singlefile format, on a warm browser (as the worker runs it). */
export async function captureHtBase(pool: BrowserPool, url: string, logger: Logger): Promise<Archive> {
  const started = performance.now();
  try {
    const res = await capturePage(pool, { url, formats: ['singlefile'], logger });
    const ms = Math.round(performance.now() - started);
    const r = res.results.singlefile;
    if (!r?.ok)
      return {
        ok: false,
        html: null,
        ms,
        error: r ? `${(r.error as { code?: string }).code ?? ''} ${r.error.message}`.trim() : 'no singlefile result',
      };
    return { ok: true, html: r.body, ms };
  } catch (err) {
    return {
      ok: false,
      html: null,
      ms: Math.round(performance.now() - started),
      error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim(),
    };
  }
}

const require = createRequire(import.meta.url);
/** The CLI entry point exactly as npm installs it (`single-file` bin). */
export function singleFileCliPath(): string {
  return join(require.resolve('single-file-cli/package.json'), '..', 'single-file-node.js');
}

export interface CliOptions {
  executablePath: string;
  /** More Chromium flags (e.g. OFFLINE_RESOLVER_ARG). */
  browserArgs?: string[];
  timeoutMs: number;
  logger: Logger;
}

/**
 * The arguments handed to the unmodified CLI: its defaults, plus what makes the two captures comparable:
 * the same Chromium binary, the same 1280x800 window, and hidden scrollbars as in our engine (otherwise the
 * CLI's page is 15 px narrower and SingleFile's removeAlternativeMedias keeps other media rules).
 * The CLI already passes --no-sandbox (needed as root).
 */
export function singleFileCliArgs(
  url: string,
  output: string,
  executablePath: string,
  browserArgs: string[] = [],
): string[] {
  return [
    singleFileCliPath(),
    url,
    output,
    `--browser-executable-path=${executablePath}`,
    '--browser-width=1280',
    '--browser-height=800',
    `--browser-args=${JSON.stringify(['--hide-scrollbars', ...browserArgs])}`,
    '--filename-conflict-action=overwrite',
  ];
}

/** Process groups of CLI runs in flight: killed by killRunningClis() when the bench is interrupted. */
const running = new Set<number>();
export function killRunningClis(): void {
  for (const pid of running) killGroup(pid);
}

/** Runs `single-file URL OUT` in its own process group (it launches its own Chromium), bounded by timeoutMs. */
export async function captureSingleFileCli(url: string, opts: CliOptions): Promise<Archive> {
  const dir = await mkdtemp(join(tmpdir(), 'fidelity-sfcli-'));
  const out = join(dir, 'page.html');
  const started = performance.now();
  try {
    const { code, stderr, timedOut } = await new Promise<{ code: number | null; stderr: string; timedOut: boolean }>(
      (resolve, reject) => {
        const child = spawn(process.execPath, singleFileCliArgs(url, out, opts.executablePath, opts.browserArgs), {
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        if (child.pid) running.add(child.pid);
        let stderr = '';
        let timedOut = false;
        child.stdout.on(
          'data',
          (d: Buffer) => (stderr += d.toString('utf8')).length > 8_000 && (stderr = stderr.slice(-8_000)),
        );
        child.stderr.on(
          'data',
          (d: Buffer) => (stderr += d.toString('utf8')).length > 8_000 && (stderr = stderr.slice(-8_000)),
        );
        const timer = setTimeout(() => {
          timedOut = true;
          killGroup(child.pid);
        }, opts.timeoutMs);
        child.once('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
        child.once('close', (code) => {
          clearTimeout(timer);
          killGroup(child.pid); // a Chromium the CLI left behind goes with its group
          if (child.pid) running.delete(child.pid);
          resolve({ code, stderr, timedOut });
        });
      },
    );
    const ms = Math.round(performance.now() - started);
    const html = await readFile(out).catch(() => null);
    if (timedOut) return { ok: false, html: null, ms, error: `timeout after ${opts.timeoutMs} ms` };
    if (code !== 0 || !html || html.length === 0)
      return { ok: false, html: null, ms, error: `exit ${code}: ${stderr.trim().slice(-300)}` };
    return { ok: true, html, ms };
  } catch (err) {
    return { ok: false, html: null, ms: Math.round(performance.now() - started), error: (err as Error).message };
  } finally {
    await rm(dir, { recursive: true, force: true }).catch((err: unknown) =>
      opts.logger.warn({ err }, 'temp dir not removed'),
    );
  }
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // ESRCH: the group is already gone
  }
}

/** HT Base's monolith path (runMonolith behind the egress proxy); only used when a real binary is on PATH. */
export async function captureMonolith(
  url: string,
  opts: { binary: string; proxyUrl: string; logger: Logger; timeoutMs: number },
): Promise<Archive> {
  const started = performance.now();
  try {
    const res = await runMonolith(
      {
        url,
        binary: opts.binary,
        proxyUrl: opts.proxyUrl,
        timeoutMs: opts.timeoutMs,
        maxBytes: 200 * 1024 * 1024,
        logger: opts.logger,
      },
      async (stdout: Readable) => {
        const chunks: Buffer[] = [];
        for await (const c of stdout) chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      },
    );
    return { ok: true, html: res.value, ms: Math.round(performance.now() - started) };
  } catch (err) {
    return {
      ok: false,
      html: null,
      ms: Math.round(performance.now() - started),
      error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim(),
    };
  }
}

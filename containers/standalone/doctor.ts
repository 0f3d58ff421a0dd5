// `htbase doctor` / `npm run doctor`: lists each capture engine (Chromium, monolith, the SingleFile script)
// with its version, or why it is unavailable. Every probe is bounded; a probe failing never throws.
import { withTimeout } from '../../shared/core/timeout.ts';
import { execFile } from 'node:child_process';
import { stat, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findMonolith, monolithVersion } from '../monolith/monolith.ts';
import { PINNED_MONOLITH_VERSION, compareVersions } from '../monolith/version.ts';

export type EngineName = 'chromium' | 'monolith' | 'singlefile';

export interface EngineReport {
  engine: EngineName;
  available: boolean;
  version: string | null;
  /** Executable or file the engine runs from, when found. */
  path: string | null;
  /** Where it was found: CHROME_PATH, @sparticuz/chromium, MONOLITH_PATH, PATH, single-file-cli. */
  source: string | null;
  /** Why it is unavailable, or a note (e.g. a version other than the pinned one). */
  detail: string | null;
}

export interface DoctorOptions {
  /** CHROME_PATH; without it the @sparticuz/chromium build is tried. */
  chromePath?: string;
  /** MONOLITH_PATH; without it `monolith` is looked up on searchPath. */
  monolithPath?: string;
  /** The PATH to search (pass process.env.PATH from the edge). */
  searchPath?: string;
  /** Per-probe limit. Default 20 s (unpacking @sparticuz/chromium takes about 3 s the first time). */
  timeoutMs?: number;
}

function runVersion(binary: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, ['--version'], { timeout: timeoutMs, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        reject(
          new Error(
            e.code === 'ENOENT'
              ? `${binary} not found`
              : e.killed
                ? `\`${binary} --version\` timed out`
                : `\`${binary} --version\` failed: ${String(stderr).trim().slice(0, 200) || e.message}`,
          ),
        );
        return;
      }
      resolve(String(stdout).trim());
    });
  });
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export async function probeChromium(opts: DoctorOptions): Promise<EngineReport> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let path: string | null = opts.chromePath ?? null;
  const source = opts.chromePath ? 'CHROME_PATH' : '@sparticuz/chromium';
  try {
    if (!path) {
      const mod = await import('@sparticuz/chromium');
      path = await withTimeout(
        mod.default.executablePath(),
        timeoutMs,
        `unpacking @sparticuz/chromium took longer than ${timeoutMs} ms`,
      );
    }
    const out = await runVersion(path, timeoutMs);
    const version = /(\d+\.\d+\.\d+\.\d+)/.exec(out)?.[1] ?? null;
    if (!version)
      return {
        engine: 'chromium',
        available: false,
        version: null,
        path,
        source,
        detail: `unexpected --version output: ${out.slice(0, 200)}`,
      };
    return { engine: 'chromium', available: true, version, path, source, detail: out };
  } catch (err) {
    return { engine: 'chromium', available: false, version: null, path, source, detail: message(err) };
  }
}

export async function probeMonolith(opts: DoctorOptions): Promise<EngineReport> {
  const source = opts.monolithPath ? 'MONOLITH_PATH' : 'PATH';
  const path = await findMonolith(opts.monolithPath, opts.searchPath ?? '');
  if (!path) {
    const detail = opts.monolithPath
      ? `MONOLITH_PATH=${opts.monolithPath} is not an executable file`
      : 'no `monolith` on PATH (install Y2Z/monolith or set MONOLITH_PATH; the container image builds it)';
    return { engine: 'monolith', available: false, version: null, path: null, source, detail };
  }
  try {
    const version = await monolithVersion(path, { timeoutMs: opts.timeoutMs ?? 20_000 });
    const detail =
      compareVersions(version, PINNED_MONOLITH_VERSION) === 0 ? null : `tested with ${PINNED_MONOLITH_VERSION}`;
    return { engine: 'monolith', available: true, version, path, source, detail };
  } catch (err) {
    return { engine: 'monolith', available: false, version: null, path, source, detail: message(err) };
  }
}

export async function probeSingleFile(): Promise<EngineReport> {
  const require = createRequire(import.meta.url);
  let pkgPath: string;
  try {
    pkgPath = require.resolve('single-file-cli/package.json');
  } catch (err) {
    return {
      engine: 'singlefile',
      available: false,
      version: null,
      path: null,
      source: 'single-file-cli',
      detail: `single-file-cli is not installed: ${message(err)}`,
    };
  }
  try {
    const pkg = JSON.parse(await readFile(pkgPath, 'utf8')) as { version?: string };
    const bundle = join(dirname(pkgPath), 'lib', 'single-file-bundle.js');
    const st = await stat(bundle).catch(() => null);
    if (!st || st.size === 0)
      return {
        engine: 'singlefile',
        available: false,
        version: pkg.version ?? null,
        path: null,
        source: 'single-file-cli',
        detail: `the SingleFile bundle is missing at ${bundle}`,
      };
    let core: string | null = null;
    try {
      core =
        (JSON.parse(await readFile(require.resolve('single-file-core/package.json'), 'utf8')) as { version?: string })
          .version ?? null;
    } catch {
      core = null; // single-file-core is optional: the CLI's bundle carries its own copy
    }
    return {
      engine: 'singlefile',
      available: true,
      version: pkg.version ?? null,
      path: bundle,
      source: 'single-file-cli',
      detail: `bundle ${Math.round(st.size / 1024)} KiB${core ? `, single-file-core ${core}` : ''}`,
    };
  } catch (err) {
    return {
      engine: 'singlefile',
      available: false,
      version: null,
      path: null,
      source: 'single-file-cli',
      detail: message(err),
    };
  }
}

/** Probes every capture engine concurrently. */
export async function runDoctor(opts: DoctorOptions = {}): Promise<EngineReport[]> {
  return Promise.all([probeChromium(opts), probeMonolith(opts), probeSingleFile()]);
}

const LABEL: Record<EngineName, string> = {
  chromium: 'Chromium',
  monolith: 'monolith',
  singlefile: 'SingleFile script',
};

/** A plain-text table for a terminal. */
export function formatDoctorReport(reports: EngineReport[]): string {
  const lines = ['Capture engines:'];
  for (const r of reports) {
    const head = `  ${r.available ? 'ok'.padEnd(7) : 'MISSING'} ${LABEL[r.engine].padEnd(18)}`;
    if (r.available) {
      lines.push(`${head} ${r.version ?? '?'}${r.source ? `  (${r.source}${r.path ? `: ${r.path}` : ''})` : ''}`);
      if (r.detail && r.engine !== 'chromium') lines.push(`${''.padEnd(28)} ${r.detail}`);
    } else {
      lines.push(`${head} unavailable: ${r.detail ?? 'unknown reason'}`);
    }
  }
  const missing = reports.filter((r) => !r.available).length;
  lines.push(
    missing
      ? `${missing} of ${reports.length} engines unavailable; artifacts that need them are skipped (monolith_unavailable) or fail.`
      : `All ${reports.length} engines available.`,
  );
  return lines.join('\n');
}

/** Alias used by the htbase CLI (containers/standalone/cli/htbase.ts). */
export const formatDoctor = formatDoctorReport;

// `node --import tsx containers/standalone/doctor.ts`: the edge, so it may read the environment.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reports = await runDoctor({
    chromePath: process.env.CHROME_PATH || undefined,
    monolithPath: process.env.MONOLITH_PATH || undefined,
    searchPath: process.env.PATH ?? '',
  });
  process.stdout.write(`${formatDoctorReport(reports)}\n`);
  process.exitCode = process.argv.includes('--strict') && reports.some((r) => !r.available) ? 1 : 0;
}

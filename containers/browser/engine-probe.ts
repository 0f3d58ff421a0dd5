// The browser engine's probes for `htbase doctor`: the Chromium binary (and its version) and the SingleFile
// script bundle. Bounded; a probe that fails reports why instead of throwing.
import { execFile } from 'node:child_process';
import { stat, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { withTimeout } from '../../shared/core/timeout.ts';
import { bundledChromiumPath } from './chromium.ts';
import { message, type EngineReport } from '../../shared/capture/engine-report.ts';

export interface ChromiumProbeOptions {
  /** CHROME_PATH; without it the @sparticuz/chromium build is tried. */
  chromePath?: string;
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

/** Chromium: CHROME_PATH or the @sparticuz/chromium build (unpacked on first use), and its `--version`. */
export async function probeChromium(opts: ChromiumProbeOptions): Promise<EngineReport> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  let path: string | null = opts.chromePath ?? null;
  const source = opts.chromePath ? 'CHROME_PATH' : '@sparticuz/chromium';
  try {
    if (!path) {
      path = await withTimeout(
        bundledChromiumPath(),
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

/** The SingleFile script: single-file-cli's bundle, present and not empty, with its version. */
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

// Pure parsers for the monolith CLI: its `-V` line and its exit codes. No I/O here, so they are
// tested on fixture strings (test/unit/monolith-version.test.ts).

/** The release this repo is built and tested against (containers/monolith/Dockerfile pins the same). */
export const PINNED_MONOLITH_VERSION = '2.10.1';

/**
 * Reads the version from `monolith -V` / `--version`. clap prints "<name> <version>" ("monolith 2.10.1");
 * older releases printed the same shape. Returns the version (semver, pre-release/build kept) or null.
 */
export function parseMonolithVersion(output: string): string | null {
  for (const line of output.split(/\r?\n/)) {
    const m = /^\s*monolith\s+v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\s*$/i.exec(line);
    if (m) return m[1]!;
  }
  return null;
}

/** Compares dotted numeric versions (pre-release tags ignored): -1, 0 or 1. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[-+]/)[0]!.split('.').map(Number);
  const pb = b.split(/[-+]/)[0]!.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export interface ExitDescription {
  code: 'monolith_failed' | 'monolith_unavailable';
  message: string;
}

/**
 * Maps how monolith ended to a stable error code and a message for the artifact. monolith exits 1 for a
 * capture error ("Error: could not retrieve target document"), 2 for arguments clap rejects, 101 when
 * it panics; 126/127 come from exec failures (e.g. a missing interpreter or loader).
 */
export function describeExit(exitCode: number | null, signal: string | null, stderrTail: string): ExitDescription {
  const detail = summarizeStderr(stderrTail);
  const withDetail = (base: string): string => (detail ? `${base}: ${detail}` : base);
  if (signal)
    return { code: 'monolith_failed', message: withDetail(`monolith was killed by ${signal} (out of memory?)`) };
  if (exitCode === 126 || exitCode === 127)
    return { code: 'monolith_unavailable', message: withDetail(`monolith could not be executed (exit ${exitCode})`) };
  if (exitCode === 2)
    return { code: 'monolith_failed', message: withDetail('monolith rejected its arguments (exit 2)') };
  if (exitCode === 101) return { code: 'monolith_failed', message: withDetail('monolith crashed (exit 101)') };
  return { code: 'monolith_failed', message: withDetail(`monolith exited with code ${exitCode}`) };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * The part of stderr worth showing: the "Error: ..." lines monolith prints last (or panic lines), else the
 * last non-empty line; ANSI colours stripped, bounded to 300 characters.
 */
export function summarizeStderr(stderr: string): string {
  const lines = stderr
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const important = lines.filter((l) => /^(error\b|thread '.*' panicked|panicked at)/i.test(l));
  const picked = important.length ? important.slice(-2).join(' / ') : (lines.at(-1) ?? '');
  return picked.length > 300 ? `${picked.slice(0, 297)}...` : picked;
}

// The monolith engine's probe for `htbase doctor`: the binary (MONOLITH_PATH or PATH) and its `-V`, with a
// note when it is not the pinned version. Bounded; a probe that fails reports why instead of throwing.
import { message, type EngineReport } from '../../shared/capture/engine-report.ts';
import { findMonolith, monolithVersion } from './binary.ts';
import { PINNED_MONOLITH_VERSION, compareVersions } from './version.ts';

export interface MonolithProbeOptions {
  /** MONOLITH_PATH; without it `monolith` is looked up on searchPath. */
  monolithPath?: string;
  /** The PATH to search (pass process.env.PATH from the edge). */
  searchPath?: string;
  /** Per-probe limit. Default 20 s. */
  timeoutMs?: number;
}

/** monolith: found and answering `-V` with a version, or why not. */
export async function probeMonolith(opts: MonolithProbeOptions): Promise<EngineReport> {
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

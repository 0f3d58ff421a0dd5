// `htbase doctor` / `npm run doctor`: lists each capture engine (Chromium, monolith, the SingleFile script)
// with its version, or why it is unavailable. The probes are the engines' own; this file lists and prints them.
import { pathToFileURL } from 'node:url';
import type { EngineName, EngineReport } from '../../shared/capture/engine-report.ts';
import { probeChromium, probeSingleFile, type ChromiumProbeOptions } from '../browser/engine-probe.ts';
import { probeMonolith, type MonolithProbeOptions } from '../monolith/engine-probe.ts';

export type { EngineName, EngineReport } from '../../shared/capture/engine-report.ts';

export type DoctorOptions = ChromiumProbeOptions & MonolithProbeOptions;

/** Every engine's probe, in the order the report lists them. */
export const PROBES: ReadonlyArray<(opts: DoctorOptions) => Promise<EngineReport>> = [
  probeChromium,
  probeMonolith,
  () => probeSingleFile(),
];

/** Probes every capture engine concurrently. */
export async function runDoctor(opts: DoctorOptions = {}): Promise<EngineReport[]> {
  return Promise.all(PROBES.map((probe) => probe(opts)));
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

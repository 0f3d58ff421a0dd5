// Tests for containers/standalone/doctor.ts: each capture engine is reported with its version or the reason it is
// unavailable. Uses the monolith stand-in and the real @sparticuz/chromium build installed with the repo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { runDoctor, formatDoctorReport } from '../../containers/standalone/doctor.ts';
import { probeChromium } from '../../containers/browser/engine-probe.ts';
import { probeMonolith } from '../../containers/monolith/engine-probe.ts';

const STANDIN = fileURLToPath(new URL('../fakes/monolith-standin/monolith', import.meta.url));

test('runDoctor reports all three engines with versions', async () => {
  const reports = await runDoctor({ monolithPath: STANDIN, searchPath: '' });
  assert.deepEqual(
    reports.map((r) => r.engine),
    ['chromium', 'monolith', 'singlefile'],
  );
  const [chromium, monolith, singlefile] = reports;
  assert.equal(chromium!.available, true, chromium!.detail ?? '');
  assert.match(chromium!.version!, /^\d+\.\d+\.\d+\.\d+$/);
  assert.deepEqual(
    { available: monolith!.available, version: monolith!.version, source: monolith!.source },
    { available: true, version: '2.10.1-standin', source: 'MONOLITH_PATH' },
  );
  assert.equal(singlefile!.available, true);
  assert.match(singlefile!.version!, /^\d+\.\d+\.\d+/);
  const text = formatDoctorReport(reports);
  assert.match(text, /Chromium\s+\d+\.\d+/);
  assert.match(text, /monolith\s+2\.10\.1-standin/);
  assert.match(text, /All 3 engines available/);
});

test('unavailable engines say why', async () => {
  const noPath = await probeMonolith({ searchPath: '/nonexistent' });
  assert.equal(noPath.available, false);
  assert.match(noPath.detail!, /no `monolith` on PATH/);
  const notMonolith = await probeMonolith({ monolithPath: '/bin/true' });
  assert.equal(notMonolith.available, false);
  assert.match(notMonolith.detail!, /printed no monolith version/);
  const chrome = await probeChromium({ chromePath: '/nonexistent/chrome' });
  assert.equal(chrome.available, false);
  assert.match(chrome.detail!, /not found/);
  assert.match(formatDoctorReport([noPath, chrome]), /MISSING monolith\s+unavailable: no `monolith` on PATH/);
});

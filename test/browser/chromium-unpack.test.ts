// Issue 15: on a machine that never unpacked @sparticuz/chromium, two processes unpacking and starting it at
// once failed with `spawn ETXTBSY` (one started the binary while the other was still writing it). Two child
// processes with a fresh empty TMPDIR (where @sparticuz/chromium unpacks) resolve and launch it together.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./chromium-launch-child.ts', import.meta.url));

function launchChild(dir: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: dir };
    delete env.CHROME_PATH; // the bundled binary is the one under test
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 150_000,
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

test('two processes unpacking and launching the bundled Chromium at once both succeed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'htbase-chromium-unpack-'));
  try {
    const results = await Promise.all([launchChild(dir), launchChild(dir)]);
    for (const [i, r] of results.entries()) {
      assert.equal(r.code, 0, `child ${i} failed:\n${r.out}`);
      assert.match(r.out, /launched .*Chrome\/\d+/, `child ${i}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

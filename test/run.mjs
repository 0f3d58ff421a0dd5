#!/usr/bin/env node
// Test entry point. `node test/run.mjs [flags] [folders or files]` runs test/**/*.test.ts (or those under the
// folders given) with node's test runner through tsx. `--tiers a,b` runs the tiers declared as `test:a`, `test:b`
// in package.json's scripts (the one place each tier's folder and timeout is declared), one after another,
// and closes with the totals of every tier.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'fixtures') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

/** Runs one node --test process; resolves with its exit code and the counts its reporter printed last. */
function run(args) {
  const dirs = args.filter((a) => !a.startsWith('-'));
  const flags = args.filter((a) => a.startsWith('-'));
  const files = (dirs.length ? dirs : ['test'])
    .flatMap((d) => (d.endsWith('.ts') ? [d] : walk(join(root, d), [])))
    .sort();
  if (files.length === 0) {
    console.error(`no test files found under ${dirs.join(' ')}`);
    return Promise.resolve({ code: 1, counts: { pass: 0, fail: 1 } });
  }
  const concurrency = process.env.TEST_CONCURRENCY ?? '2';
  const timeout = flags.some((f) => f.startsWith('--test-timeout')) ? [] : ['--test-timeout=600000'];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...timeout, ...flags, ...files],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: root,
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none', NODE_ENV: 'test' },
    },
  );
  const counts = {};
  let tail = '';
  child.stdout.on('data', (chunk) => {
    process.stdout.write(chunk);
    const lines = (tail + chunk.toString('utf8')).split('\n');
    tail = lines.pop();
    for (const line of lines) {
      // The closing summary of the tap reporter (`# pass 3`) or of the spec reporter (`ℹ pass 3`).
      const m = /^(?:# |\u2139 )(tests|pass|fail|cancelled|skipped|todo) (\d+)\s*$/.exec(line);
      if (m) counts[m[1]] = Number(m[2]);
    }
  });
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), counts }));
  });
}

const args = process.argv.slice(2);
const tiersFlag = args.find((a) => a.startsWith('--tiers'));
if (!tiersFlag) {
  const { code } = await run(args);
  process.exit(code);
}
const tiers = (tiersFlag.includes('=') ? tiersFlag.split('=')[1] : args[args.indexOf(tiersFlag) + 1]).split(',');
const scripts = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts;
const total = { pass: 0, fail: 0, skipped: 0 };
let exit = 0;
for (const tier of tiers) {
  const script = scripts[`test:${tier}`];
  if (!script?.startsWith('node test/run.mjs ')) {
    console.error(`package.json declares no test tier "test:${tier}"`);
    process.exit(1);
  }
  console.log(`# tier ${tier}: ${script}`);
  const { code, counts } = await run(script.split(/\s+/).slice(2));
  total.pass += counts.pass ?? 0;
  total.fail += (counts.fail ?? 0) + (counts.cancelled ?? 0);
  total.skipped += counts.skipped ?? 0;
  if (code !== 0) {
    exit = code;
    if (!counts.fail && !counts.cancelled) total.fail += 1; // the runner failed outside any test
  }
  console.log(`# tier ${tier}: ${counts.pass ?? 0} passed, ${(counts.fail ?? 0) + (counts.cancelled ?? 0)} failed`);
}
console.log(`total: ${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped`);
process.exit(exit);

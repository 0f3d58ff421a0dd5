// `npm run bench:startup [-- --runs N]`: each deployable's cold start, from process spawn to its port accepting a
// connection, run as production runs it (the esbuild bundle of infra/build-functions.ts, plain node) beside the
// TypeScript sources through tsx, against a throwaway PostgreSQL 15. Medians of N runs (5) after one warm-up each.
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  BUNDLES,
  bundleContainer,
  bundleFunction,
  CONTAINER_BUNDLES,
  type BundleSpec,
} from '../../infra/build-functions.ts';
import { freePort } from '../support/service-process.ts';
import { startPostgres } from '../support/services.ts';
import { MONOLITH_STANDIN } from '../support/processes.ts';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = Number(args.runs);
const ROOT = new URL('../../', import.meta.url).pathname;
const FF_MAIN = join(ROOT, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
// Inside the repo (dist/ is ignored), so the bundles resolve their npm packages from its node_modules.
const OUT = join(ROOT, 'dist', 'bench-startup');

interface Deployable {
  name: string;
  /** Functions Framework target, or undefined for a Cloud Run worker (its own server). */
  target?: string;
  spec: BundleSpec;
  env: Record<string, string>;
}

const functionSpec = (name: string) => BUNDLES.find((b) => b.name === name)!;
const containerSpec = (name: string) => CONTAINER_BUNDLES.find((b) => b.name === name)!;

/** Spawns one start and resolves with the milliseconds until its port accepts a connection. */
async function timeStart(d: Deployable, mode: 'compiled' | 'tsx', base: Record<string, string>): Promise<number> {
  const port = await freePort();
  const source = mode === 'compiled' ? join(OUT, d.target ? 'functions' : 'containers', d.spec.name) : d.spec.entry;
  const tsx = mode === 'tsx' ? ['--import', 'tsx'] : [];
  const argv = d.target
    ? [...tsx, FF_MAIN, `--target=${d.target}`, `--source=${source}`, `--port=${port}`]
    : [...tsx, mode === 'compiled' ? join(source, 'index.js') : source];
  const t0 = performance.now();
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { ...base, ...d.env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`${d.name} (${mode}) exited ${child.exitCode}: ${stderr.slice(-2000)}`);
      if (await accepts(port)) return performance.now() - t0;
      if (performance.now() - t0 > 60_000) throw new Error(`${d.name} (${mode}) did not listen within 60 s`);
      await sleep(5);
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((ok) => child.once('exit', ok));
      process.kill(-child.pid!, 'SIGKILL');
      await gone;
    }
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const s = connect({ port, host: '127.0.0.1' });
    s.once('connect', () => (s.destroy(), ok(true)));
    s.once('error', () => ok(false));
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  for (const b of BUNDLES) await bundleFunction(b, { root: ROOT, outRoot: join(OUT, 'functions') });
  for (const b of CONTAINER_BUNDLES) await bundleContainer(b, { root: ROOT, outRoot: join(OUT, 'containers') });
  const pg = await startPostgres();
  try {
    const project = 'htbase-bench';
    // Clients that connect lazily get unreachable endpoints: start-up must not depend on them.
    const base: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: project,
      DATABASE_URL: pg.databaseUrl,
      ARTIFACTS_BUCKET: 'bench-artifacts',
      STORAGE_API_ENDPOINT: 'http://127.0.0.1:9',
      PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
      LOG_LEVEL: 'warn',
    };
    const tasks = {
      CLOUD_TASKS_API_ENDPOINT: '127.0.0.1:9',
      CLOUD_TASKS_LOCATION: 'us-central1',
      CLOUD_TASKS_QUEUE: 'summaries',
      SUMMARY_TASK_URL: 'http://127.0.0.1:9/',
      SUMMARY_TASK_SERVICE_ACCOUNT: `htbase-tasks-invoker@${project}.iam.gserviceaccount.com`,
      GEMINI_MODE: 'off',
    };
    const worker = { HOST: '127.0.0.1', PUBSUB_VERIFY_OIDC: 'false' };
    const deployables: Deployable[] = [
      {
        name: 'api',
        target: 'api',
        spec: functionSpec('api'),
        env: { ...tasks, API_KEYS_REQUIRED: 'true', RATE_LIMIT_PER_MINUTE: '1000' },
      },
      { name: 'summarize', target: 'summarize', spec: functionSpec('summarize'), env: tasks },
      { name: 'summary-task', target: 'summarizeTask', spec: functionSpec('summarize'), env: tasks },
      { name: 'sync', target: 'sync', spec: functionSpec('sync'), env: { FIRESTORE_EMULATOR_HOST: '127.0.0.1:9' } },
      {
        name: 'sweep',
        target: 'sweep',
        spec: functionSpec('sweep'),
        env: { SWEEP_VERIFY_OIDC: 'false', SWEEP_AUDIENCE: 'http://127.0.0.1:9/' },
      },
      { name: 'browser', spec: containerSpec('browser'), env: worker },
      {
        name: 'monolith',
        spec: containerSpec('monolith'),
        env: { ...worker, MONOLITH_PATH: MONOLITH_STANDIN, MONOLITH_REQUIRED: 'true' },
      },
    ];
    const rows: string[] = [];
    for (const d of deployables) {
      const result: Record<string, number> = {};
      for (const mode of ['tsx', 'compiled'] as const) {
        await timeStart(d, mode, base); // warm-up: migrations on the first start, the OS file cache
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) times.push(await timeStart(d, mode, base));
        result[mode] = median(times);
      }
      const saved = result.tsx! - result.compiled!;
      rows.push(
        `| ${d.name.padEnd(12)} | ${result.tsx!.toFixed(0).padStart(7)} | ${result.compiled!.toFixed(0).padStart(8)} | ` +
          `${saved.toFixed(0).padStart(5)} (${((saved / result.tsx!) * 100).toFixed(0).padStart(3)} %) |`,
      );
      process.stderr.write(`${d.name} done\n`);
    }
    console.log(`\nstart to listening, median of ${RUNS} runs (ms), Node ${process.version}\n`);
    console.log('| deployable   | tsx (ms) | compiled (ms) | saved (ms) |');
    console.log('| --- | ---: | ---: | ---: |');
    for (const r of rows) console.log(r);
  } finally {
    await pg.stop();
    rmSync(OUT, { recursive: true, force: true });
  }
}

await main();

// `npm run dev:cloud`: the Google Cloud topology on this machine for a person to use (test/support/topology.ts):
// emulators, fakes and every deployable as its own process; prints the API URL, a fresh API key and the
// environment, plays Cloud Scheduler for the sweeper, and stops everything it started on Ctrl-C.
// Options: --gemini-fake (summaries from the Gemini fake instead of the extractive summarizer),
// --sweep-every=SECONDS (default 120; 0 turns the scheduler off). GEMINI_API_KEY in the environment uses real Gemini.
import { startTopology, type Topology } from './topology.ts';

process.env.METADATA_SERVER_DETECTION ??= 'none';
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string, def: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? def;
const sweepEvery = Number(option('sweep-every', '120'));
const err = (s: string) => process.stderr.write(`${s}\n`);

const gemini = process.env.GEMINI_API_KEY
  ? {
      GEMINI_MODE: 'api-key',
      GEMINI_API_KEY: process.env.GEMINI_API_KEY,
      ...(process.env.GEMINI_MODEL ? { GEMINI_MODEL: process.env.GEMINI_MODEL } : {}),
    }
  : undefined;

let topo: Topology | undefined;
let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  err('dev:cloud: stopping every process and service it started...');
  await topo?.close().catch((e) => err(`dev:cloud: ${String(e)}`));
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));

try {
  const t0 = Date.now();
  err('dev:cloud: starting PostgreSQL 15, Redis, the Pub/Sub and Firestore emulators, the fakes and 7 deployables...');
  topo = await startTopology({
    leaseSeconds: 120,
    summarizer: flag('gemini-fake') ? 'gemini-fake' : 'extractive',
    pubsub: { ackDeadlineSeconds: 180, maxDeliveryAttempts: 5, minBackoffSeconds: 2, maxBackoffSeconds: 30 },
    env: gemini ? { summarize: gemini, summarizeTask: gemini } : undefined,
    onLog: (l) => err(`  ${l}`),
  });
  const key = await topo.createApiKey(`dev-cloud ${new Date().toISOString()}`);
  const p = topo.procs;
  const out = [
    '',
    `HT Base, Google Cloud topology on emulators (ready in ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    '',
    `  API          ${topo.apiUrl}`,
    `  API key      ${key}`,
    '',
    `  try:  curl -s -X POST ${topo.apiUrl}/archive -H 'authorization: Bearer ${key}' -H 'content-type: application/json' -d '{"url":"https://example.com/"}'`,
    `        curl -s ${topo.apiUrl}/archives/ID -H 'authorization: Bearer ${key}'`,
    '',
    '  deployables (Functions Framework targets and container servers, one process each):',
    ...Object.values(p).map((x) => `    ${x.name.padEnd(14)} ${x.url}  pid ${x.pid}  log ${x.logFile}`),
    '',
    '  services:',
    `    postgres        ${topo.services.postgres.databaseUrl}`,
    `    redis           ${topo.services.redis.url}`,
    `    pubsub emulator ${topo.services.pubsub.emulatorHost}`,
    `    firestore emu.  ${topo.services.firestore.emulatorHost}  (articles/{id})`,
    `    storage (fake)  ${topo.services.gcs.apiEndpoint}  bucket ${topo.bucket}`,
    `    tasks (fake)    127.0.0.1:${topo.services.tasks.port}`,
    ...(topo.services.gemini ? [`    gemini (fake)   ${topo.services.gemini.url}`] : []),
    `    summaries       ${gemini ? 'Gemini (GEMINI_API_KEY)' : topo.services.gemini ? 'Gemini fake' : 'extractive (offline)'}`,
    `    scheduler       ${sweepEvery > 0 ? `POST ${p.sweep.url}/ every ${sweepEvery} s with an OIDC token` : 'off'}`,
    '',
    '  environment shared by the deployables (eval it to run the CLI against this topology, e.g. npx htbase apikey create me):',
    ...Object.entries(topo.env).map(([k, v]) => `    export ${k}=${JSON.stringify(v)}`),
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  process.stdout.write(`${out.join('\n')}\n`);

  if (sweepEvery > 0) {
    // Cloud Scheduler's job: the sweep function, with an OIDC token of the scheduler's service account.
    setInterval(() => {
      topo!
        .invokeSweep()
        .then((r) => {
          const b = r.body as { republished?: number; failed?: number };
          if (r.status !== 200 || b.republished || b.failed)
            err(`dev:cloud: sweep answered ${r.status} ${JSON.stringify(r.body)}`);
        })
        .catch((e) => err(`dev:cloud: sweep failed: ${String(e)}`));
    }, sweepEvery * 1000);
  }
} catch (e) {
  err(`dev:cloud: could not start: ${e instanceof Error ? e.message : String(e)}`);
  await shutdown(1);
}

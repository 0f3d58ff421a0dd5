// The one-VPS deployment as infra/compose/compose.yaml describes it, each service's command run as a local process
// with the environment the file gives it, on a real PostgreSQL 15 and its job queue: the fixture site archived
// through the API (every artifact and the summary), three browser workers sharing the queue without capturing an
// artifact twice, a worker SIGKILLed mid-capture losing nothing, and every process restarted with jobs pending.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { keyFor } from '../support/owners.ts';
import { api, terminalStatus, until } from './support.ts';
import {
  appServices,
  healthPath,
  loadCompose,
  pendingJobs,
  startComposeStack,
  storedArtifacts,
  type ComposeStack,
} from './compose-stack.ts';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
const ALL = ['monolith', 'pdf', 'readable', 'screenshot', 'singlefile'];
/** The .env of this run: a short lease (a killed worker's job comes back in seconds) and no sweeps (the queue,
 * not the sweeper, must bring pending work back after a restart). */
const DOTENV = {
  POSTGRES_PASSWORD: 'compose-test-password',
  HTBASE_ALLOW_PRIVATE_NETWORKS: 'true',
  LOG_LEVEL: 'info',
  LEASE_SECONDS: '10',
  QUEUE_MIN_BACKOFF_MS: '1000',
  QUEUE_MAX_BACKOFF_MS: '3000',
  QUEUE_POLL_SECONDS: '0.5',
  QUEUE_MAINTENANCE_SECONDS: '1',
  SWEEP_INTERVAL_SECONDS: '3600',
};

let stack: ComposeStack;
let site: StaticServer;
let key: string;

before(async () => {
  const index = readFileSync(`${FIXTURE}index.html`);
  site = await serveDir(FIXTURE, {
    routes: {
      // The fixture article, answered after 5 s: long enough to kill the worker that is loading it.
      '/slow.html': async (_req, res) => {
        await sleep(5000);
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(index);
      },
    },
  });
  stack = await startComposeStack(DOTENV);
  key = await keyFor(stack.db, 'compose');
});

after(async () => {
  await stack?.close();
  await site?.close();
});

const submit = async (path: string, formats?: string[]) => {
  const r = await api(stack.apiUrl(), key, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}${path}`, ...(formats ? { formats } : {}) },
  });
  assert.equal(r.status, 202, JSON.stringify(r.body));
  return r.body.id as string;
};
const view = async (id: string) => (await api(stack.apiUrl(), key, `/archives/${id}`)).body;
const complete = (id: string, withSummary: boolean, ms = 240_000) =>
  until(
    `archive ${id} to finish`,
    async () => {
      const v = await view(id);
      return terminalStatus(v.status) && (!withSummary || v.summary) ? v : undefined;
    },
    ms,
    500,
  );

test('the compose file: every service scalable or healthy as a VPS needs, keys required when exposed', () => {
  const c = loadCompose(DOTENV);
  assert.deepEqual(appServices(c).sort(), ['api', 'browser', 'monolith', 'summarize', 'sweep']);
  assert.match(c.services.postgres!.image!, /^postgres:15/);
  assert.ok(
    c.services.postgres!.volumes!.some((v) => v.startsWith('db:')),
    'the database on a named volume',
  );
  assert.ok(c.services.postgres!.healthcheck, 'postgres health check');
  assert.deepEqual(Object.keys(c.volumes).sort(), ['artifacts', 'db']);
  for (const s of appServices(c)) {
    const svc = c.services[s]!;
    assert.equal(svc.restart, 'unless-stopped', `${s} restarts`);
    assert.ok(healthPath(svc), `${s} has an HTTP health check`);
    assert.equal(svc.depends_on?.postgres?.condition, 'service_healthy', `${s} waits for the database`);
    assert.ok(svc.volumes?.includes('artifacts:/data'), `${s} sees the artifact volume`);
    assert.equal(svc.environment?.QUEUE, 'postgres', `${s} on the Postgres job queue`);
  }
  const b = c.services.browser!;
  assert.equal(b.container_name, undefined, 'browser scales: no container_name');
  assert.equal(b.ports, undefined, 'browser scales: no fixed host port');
  assert.equal((c.services.monolith!.build as { dockerfile: string }).dockerfile, 'containers/monolith/Dockerfile');
  assert.equal(c.services.monolith!.environment!.MONOLITH_REQUIRED, 'true');
  assert.equal(c.services.api!.environment!.API_KEYS_REQUIRED, 'true');
  assert.throws(() => loadCompose({}), /POSTGRES_PASSWORD/, 'no default database password');
});

test('the fixture site through the API: every artifact byte for byte and the summary, keys required', async () => {
  const anon = await api(stack.apiUrl(), null, '/archives');
  assert.equal(anon.status, 401, 'an exposed API answers nobody without a key');
  const web = await fetch(`${stack.apiUrl()}/`);
  assert.equal(web.status, 200);
  assert.match(web.headers.get('content-type') ?? '', /text\/html/, 'the API serves the web app');
  await web.arrayBuffer();

  const id = await submit('/index.html');
  const v = await complete(id, true);
  assert.equal(v.status, 'complete', JSON.stringify(v.artifacts));
  assert.deepEqual(v.artifacts.map((a: { format: string }) => a.format).sort(), ALL);
  for (const a of v.artifacts) {
    assert.equal(a.status, 'succeeded', `${a.format}: ${a.errorCode} ${a.errorMessage}`);
    const r = await fetch(`${stack.apiUrl()}/archives/${id}/artifacts/${a.format}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(r.status, 200, `${a.format} download`);
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.equal(createHash('sha256').update(bytes).digest('hex'), a.sha256, `${a.format} bytes match its sha256`);
  }
  assert.equal(v.title, 'The Lighthouse Keepers of Skerryvore');
  assert.equal(v.summary.provider, 'extractive', 'summarize ran from the queue (no Gemini key: extractive)');
  assert.ok(v.summary.summary.length > 20);
});

test('three browser workers share the queue: 30 archives, no artifact captured twice', async () => {
  await Promise.all([stack.start('browser', 'browser-2'), stack.start('browser', 'browser-3')]);
  const before = new Set(storedArtifacts(stack.procs.values()));
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push(await submit(`/index.html?n=${i}`, ['readable', 'screenshot']));
  for (const id of ids) {
    const v = await complete(id, false, 300_000);
    assert.equal(v.status, 'complete', `${id}: ${JSON.stringify(v.artifacts)}`);
    for (const a of v.artifacts) assert.equal(a.attempts, 1, `${id}/${a.format} claimed once`);
  }
  const stored = storedArtifacts(stack.procs.values()).filter((k) => !before.has(k));
  const counts = new Map<string, number>();
  for (const k of stored) counts.set(k, (counts.get(k) ?? 0) + 1);
  assert.equal(counts.size, 60, 'every artifact of the 30 archives stored');
  assert.deepEqual(
    [...counts].filter(([, n]) => n !== 1),
    [],
    'no artifact captured twice',
  );
  // All three took work (the queue hands jobs to whichever worker asks).
  const workers = ['browser', 'browser-2', 'browser-3'].map(
    (n) => storedArtifacts([stack.procs.get(n)!]).filter((k) => ids.some((id) => k.startsWith(id))).length,
  );
  assert.ok(
    workers.every((n) => n > 0),
    `each worker captured some: ${workers.join(', ')}`,
  );
});

test('a browser worker SIGKILLed mid-capture loses nothing: another takes the job once the lease expires', async () => {
  const browsers = [...stack.procs.values()].filter((p) => p.service === 'browser' && p.running());
  assert.ok(browsers.length >= 2, 'two or more browser workers');
  const id = await submit('/slow.html', ['readable', 'screenshot']);
  // The worker holding the job: its health endpoint reports the capture in flight.
  const victim = await until(
    'a worker to start the capture',
    async () => {
      for (const p of browsers) {
        const h = (await (await fetch(`${p.url}/healthz`)).json()) as { inFlight: number };
        if (h.inFlight > 0) return p;
      }
      return undefined;
    },
    60_000,
    100,
  );
  await victim.kill();
  const v = await complete(id, false, 120_000);
  assert.equal(v.status, 'complete', JSON.stringify(v.artifacts));
  for (const a of v.artifacts) assert.equal(a.attempts, 2, `${a.format}: the killed claim, then the one that stored`);
  const stored = storedArtifacts(stack.procs.values()).filter((k) => k.startsWith(id));
  assert.deepEqual(stored.sort(), [`${id}/readable`, `${id}/screenshot`], 'stored once, by a survivor');
  assert.ok(!storedArtifacts([victim]).some((k) => k.startsWith(id)), 'the killed worker stored nothing');
});

test('every process restarted with jobs pending: the queue survives and the archives complete', async () => {
  const workers = [...stack.procs.values()].filter((p) => p.service !== 'api' && p.running());
  await Promise.all(workers.map((p) => p.stop()));
  const ids = [await submit('/index.html?restart=1'), await submit('/index.html?restart=2')];
  assert.ok((await pendingJobs(stack.db, 'capture-browser-push')) >= 2, 'browser jobs wait in PostgreSQL');
  assert.ok((await pendingJobs(stack.db, 'capture-monolith-push')) >= 2, 'monolith jobs wait in PostgreSQL');
  await stack.procs.get('api')!.stop();
  for (const p of stack.procs.values()) assert.equal(p.running(), false, `${p.name} is down`);

  await stack.start('api');
  await Promise.all(['browser', 'monolith', 'summarize', 'sweep'].map((s) => stack.start(s)));
  for (const id of ids) {
    const v = await complete(id, true, 300_000);
    assert.equal(v.status, 'complete', JSON.stringify(v.artifacts));
    assert.ok(v.summary, 'summary made after the restart');
  }
  assert.equal(await pendingJobs(stack.db, 'capture-browser-push'), 0);
});

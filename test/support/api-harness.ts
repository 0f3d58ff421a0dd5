// The HTTP API on its own for a test: PGlite, a local blob store, the in-process bus with a recording
// subscriber (no browser), served on a loopback port; more apps on the same state with other deps; and
// problem(), the assertion every problem answer of these tests goes through.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createLocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { createInProcessBus, type InProcessBus } from '../../shared/adapters/in-process-bus.ts';
import { createApp, type ApiDeps } from '../../functions/api/app.ts';
import { createAuthenticator } from '../../shared/auth/identity.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import type { BlobStore } from '../../shared/core/ports.ts';
import { CaptureJobV1, TOPICS, decodePush, type CaptureJob } from '../../shared/core/messages.ts';
import { tempDir } from './embedded.ts';

export interface ApiHarness {
  db: DatabaseHandle;
  bus: InProcessBus;
  /** The default app's origin. */
  base: string;
  /** Capture jobs published so far, in order (tests reset it with `jobs.length = 0`). */
  jobs: Array<{ topic: string; job: CaptureJob }>;
  /** A store on the same directory as the apps' (a new handle each call). */
  blobs(): BlobStore;
  /** The default app's deps, with some replaced. */
  deps(overrides?: Overrides): ApiDeps;
  /** Serves another app on the same database, bus and store, with some deps replaced. */
  serve(overrides?: Overrides): Promise<string>;
  close(): Promise<void>;
}

type Overrides = Partial<Omit<ApiDeps, 'config'>> & { config?: Partial<ApiDeps['config']> };

const CONFIG: ApiDeps['config'] = {
  DEDUP_WINDOW_SECONDS: 3600,
  MAX_BODY_BYTES: 4096,
  RATE_LIMIT_PER_MINUTE: 0,
  READ_RATE_LIMIT_PER_MINUTE: 0,
  SIGNED_URL_TTL_SECONDS: 60,
  LEASE_SECONDS: 60,
};

export async function startApiHarness(): Promise<ApiHarness> {
  const dir = await tempDir();
  const db = await openDatabase({ memory: true });
  const bus = createInProcessBus({ logger: silentLogger() });
  const jobs: ApiHarness['jobs'] = [];
  for (const topic of [TOPICS.captureBrowser, TOPICS.captureMonolith]) {
    bus.subscribe(topic, `${topic}-recorder`, async (body) => {
      jobs.push({ topic, job: decodePush(CaptureJobV1, body).data });
      return 204;
    });
  }
  const blobs = () => createLocalBlobStore({ root: join(dir.path, 'blobs') });
  const closers: Array<() => Promise<unknown>> = [];
  const deps: ApiHarness['deps'] = ({ config, ...overrides } = {}) => ({
    db: db.db,
    blobs: blobs(),
    publisher: bus,
    logger: silentLogger(),
    // A loopback server without keys: every caller is the first admin.
    authenticate: createAuthenticator({ db: db.db, keysRequired: false }),
    guard: {
      allowPrivateNetworks: false,
      resolve: async (h) =>
        h.endsWith('.test') ? ['93.184.215.14'] : h === 'internal.test.example' ? ['10.0.0.7'] : ['93.184.215.14'],
    },
    ...overrides,
    config: { ...CONFIG, ...config },
  });
  const serve: ApiHarness['serve'] = async (overrides) => {
    const server = createServer(createApp(deps(overrides)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => server.close(r)));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const base = await serve();
  return {
    db,
    bus,
    base,
    jobs,
    blobs,
    deps,
    serve,
    async close() {
      for (const close of closers.reverse()) await close();
      await bus.close();
      await db.close();
      await dir.remove();
    },
  };
}

export async function problem(
  res: Promise<{ status: number; headers: Headers; body: any }>,
  status: number,
  type: RegExp,
) {
  const r = await res;
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.match(r.body.type, type);
  assert.equal(r.body.status, status);
  assert.ok(typeof r.body.detail === 'string' && r.body.detail.length > 5, 'a clear message');
  return r.body;
}

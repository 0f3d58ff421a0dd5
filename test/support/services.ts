// Starts the real local servers the cloud path runs against (PostgreSQL 15, Redis, the Pub/Sub and Firestore
// emulators, the Cloud Storage fake) on free loopback ports: the one module tests import them from (the parts are
// service-process.ts, postgres-redis.ts, emulators.ts), and the CLI of `npm run dev:cloud` (`tsx ... [names...]`).
import { startGcsFake, type GcsFake, type GcsFakeOptions } from '../fakes/gcs-server.ts';
import {
  DEFAULT_PROJECT_ID,
  GCLOUD_SDK,
  findFirestoreJar,
  findPubSubJar,
  startFirestoreEmulator,
  startPubSubEmulator,
} from './emulators.ts';
import { PG_BIN, findRedisServer, startPostgres, startRedis } from './postgres-redis.ts';
import { ServiceUnavailableError, freePort, stopAll, type ServiceHandle } from './service-process.ts';

export type { FirestoreEmulatorHandle, PubSubEmulatorHandle } from './emulators.ts';
export type { PostgresHandle, RedisHandle } from './postgres-redis.ts';
export {
  DEFAULT_PROJECT_ID,
  GCLOUD_SDK,
  PG_BIN,
  ServiceUnavailableError,
  findFirestoreJar,
  findPubSubJar,
  findRedisServer,
  freePort,
  startFirestoreEmulator,
  startPostgres,
  startPubSubEmulator,
  startRedis,
  stopAll,
  type ServiceHandle,
};

// ---------------------------------------------------------------- Cloud Storage fake
export interface GcsHandle extends ServiceHandle {
  readonly apiEndpoint: string;
  readonly fake: GcsFake;
}
/** The in-process Cloud Storage fake (test/fakes/gcs-server.ts) behind the same handle shape. */
export async function startGcs(opts: GcsFakeOptions = {}): Promise<GcsHandle> {
  const fake = await startGcsFake(opts);
  const url = new URL(fake.apiEndpoint);
  return {
    name: 'gcs-fake',
    host: url.hostname,
    port: Number(url.port),
    dir: fake.dir ?? '',
    pid: process.pid,
    fake,
    apiEndpoint: fake.apiEndpoint,
    // Not STORAGE_EMULATOR_HOST: the client then drops the /storage/v1 base path; pass apiEndpoint explicitly.
    env: { STORAGE_API_ENDPOINT: fake.apiEndpoint },
    stop: () => fake.close(),
  };
}

// ---------------------------------------------------------------- CLI
const STARTERS = {
  postgres: () => startPostgres(),
  redis: () => startRedis(),
  pubsub: () => startPubSubEmulator(),
  firestore: () => startFirestoreEmulator(),
  gcs: () => startGcs(),
} satisfies Record<string, () => Promise<ServiceHandle>>;

async function main(argv: string[]): Promise<void> {
  const names = (argv.length ? argv : Object.keys(STARTERS)) as Array<keyof typeof STARTERS>;
  for (const n of names)
    if (!(n in STARTERS)) throw new Error(`unknown service ${n}; known: ${Object.keys(STARTERS).join(', ')}`);
  const handles: ServiceHandle[] = [];
  const shutdown = async () => {
    await stopAll(handles).catch((err) => process.stderr.write(`${String(err)}\n`));
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  try {
    for (const n of names) handles.push(await STARTERS[n]());
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll(handles).catch(() => undefined);
    process.exit(1);
  }
  const env = Object.assign({}, ...handles.map((h) => h.env));
  // One `export` line per variable on stdout so a shell can `eval` it; the rest goes to stderr.
  for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${JSON.stringify(v)}\n`);
  process.stderr.write(`started ${handles.map((h) => `${h.name}:${h.port}`).join(' ')}; Ctrl-C stops them\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  void main(process.argv.slice(2));
}

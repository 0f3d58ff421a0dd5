// The Google Cloud topology on one machine: PostgreSQL 15, Redis, the Pub/Sub and Firestore emulators, the Cloud
// Storage / Cloud Tasks / Gemini fakes and every deployable as its own process (processes.ts), wired as in
// production; Eventarc is eventarc.ts. Used by test/integration/* and `npm run dev:cloud` (dev-cloud.ts).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Firestore } from '@google-cloud/firestore';
import type { Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import type { Database } from '../../shared/db/types.ts';
import { keyFor } from './owners.ts';
import { ensureTopology } from '../../shared/adapters/pubsub.ts';
import {
  freePort,
  startFirestoreEmulator,
  startGcs,
  startPostgres,
  startPubSubEmulator,
  startRedis,
  stopAll,
  DEFAULT_PROJECT_ID,
  type FirestoreEmulatorHandle,
  type GcsHandle,
  type PostgresHandle,
  type PubSubEmulatorHandle,
  type RedisHandle,
} from './services.ts';
import { startFakeCloudTasks, type FakeCloudTasks } from '../fakes/cloud-tasks-server.ts';
import { startFakeGemini, type FakeGemini } from '../fakes/gemini-server.ts';
import { startOidcIssuer, type OidcIssuer } from './oidc-issuer.ts';
import {
  DEPLOYABLES,
  MONOLITH_STANDIN,
  spawnDeployable,
  type DeployableName,
  type DeployableProcess,
} from './processes.ts';
import { deliverFinalize, type FinalizeDelivery } from './eventarc.ts';

export { DEPLOYABLES, MONOLITH_STANDIN, type DeployableName, type DeployableProcess, type FinalizeDelivery };

export interface TopologyOptions {
  projectId?: string;
  bucket?: string;
  /** LEASE_SECONDS of every deployable (10 is the schema's minimum; short leases make fault tests fast). */
  leaseSeconds?: number;
  /** LOG_LEVEL of the deployables; their JSON logs go to files under `dir`. */
  logLevel?: string;
  /** Gemini through the fake (tests), or the offline extractive summarizer (dev:cloud default). */
  summarizer?: 'gemini-fake' | 'extractive';
  /** Subscription settings passed to ensureTopology. */
  pubsub?: {
    ackDeadlineSeconds?: number;
    maxDeliveryAttempts?: number;
    minBackoffSeconds?: number;
    maxBackoffSeconds?: number;
  };
  /** Extra environment per deployable (after the defaults). */
  env?: Partial<Record<DeployableName, Record<string, string>>>;
  /** Print where each process logs, and its crashes, to this sink (dev:cloud). */
  onLog?: (line: string) => void;
}

export interface Topology {
  readonly projectId: string;
  readonly bucket: string;
  readonly dir: string;
  /** The environment every deployable shares (service endpoints). */
  readonly env: Readonly<Record<string, string>>;
  readonly services: {
    postgres: PostgresHandle;
    redis: RedisHandle;
    pubsub: PubSubEmulatorHandle;
    firestore: FirestoreEmulatorHandle;
    gcs: GcsHandle;
    tasks: FakeCloudTasks;
    gemini: FakeGemini | null;
    issuer: OidcIssuer;
  };
  readonly procs: Record<DeployableName, DeployableProcess>;
  /** The test process's own view of Postgres, Pub/Sub and Firestore. */
  readonly db: Kysely<Database>;
  readonly pubsub: PubSub;
  readonly firestore: Firestore;
  /** Every storage CloudEvent delivered to summarize (the Eventarc stand-in's log). */
  readonly finalizeDeliveries: FinalizeDelivery[];
  readonly signer: { clientEmail: string; publicKey: KeyObject };
  readonly schedulerServiceAccount: string;
  readonly apiUrl: string;
  /** Creates an API key (the logic of `npx htbase apikey create`); returns the plain key. */
  /** A key of the first admin, or of a user of its own (made on first use): rate limits are per user. */
  createApiKey(name: string, opts?: { user?: string }): Promise<string>;
  /** Starts another process of a deployable (own port unless given) with extra environment. */
  spawn(
    name: string,
    kind: DeployableName,
    opts?: { env?: Record<string, string>; port?: number },
  ): Promise<DeployableProcess>;
  /** Stops (or finds dead) the named process and starts it again on the same port, with optional extra env. */
  restart(name: DeployableName, env?: Record<string, string>): Promise<DeployableProcess>;
  /** POSTs to the sweep function with a token from the scheduler's service account, as Cloud Scheduler does. */
  invokeSweep(): Promise<{ status: number; body: unknown }>;
  close(): Promise<void>;
}

export async function startTopology(opts: TopologyOptions = {}): Promise<Topology> {
  const projectId = opts.projectId ?? DEFAULT_PROJECT_ID;
  const bucket = opts.bucket ?? 'htbase-artifacts-local';
  const dir = mkdtempSync(join(tmpdir(), 'htbase-topology-'));
  const leaseSeconds = opts.leaseSeconds ?? 10;
  const useGemini = (opts.summarizer ?? 'gemini-fake') === 'gemini-fake';
  const finalizeDeliveries: FinalizeDelivery[] = [];
  const closing = new AbortController();
  const cleanups: Array<{ stop(): Promise<void> } | undefined> = [];
  const procs: Partial<Record<string, DeployableProcess>> = {};
  let dbHandle: DatabaseHandle | undefined;
  let pubsub: PubSub | undefined;
  let firestore: Firestore | undefined;

  // The v4 URL signer: any RSA key works, the Cloud Storage fake verifies with its public half.
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signer = { clientEmail: `url-signer@${projectId}.iam.gserviceaccount.com`, publicKey };
  const schedulerServiceAccount = `htbase-scheduler@${projectId}.iam.gserviceaccount.com`;

  async function closeAll(): Promise<void> {
    closing.abort();
    await Promise.all(Object.values(procs).map((p) => p?.stop(8000)));
    await firestore?.terminate().catch(() => undefined);
    await pubsub?.close().catch(() => undefined);
    await dbHandle?.close().catch(() => undefined);
    await stopAll(cleanups).catch((err) => opts.onLog?.(`stopping services: ${String(err)}`));
    // HTBASE_KEEP_LOGS=1 keeps every deployable's log for a post-mortem.
    if (process.env.HTBASE_KEEP_LOGS) process.stderr.write(`topology logs kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }

  try {
    const ports = Object.fromEntries(
      await Promise.all(Object.keys(DEPLOYABLES).map(async (k) => [k, await freePort()] as const)),
    ) as Record<DeployableName, number>;
    const urlOf = (k: DeployableName) => `http://127.0.0.1:${ports[k]}`;

    const [postgres, redis, pubsubEmu, firestoreEmu, tasks, gemini, issuer] = await Promise.all([
      startPostgres(),
      startRedis(),
      startPubSubEmulator({ projectId }),
      startFirestoreEmulator({ projectId }),
      startFakeCloudTasks({ maxAttempts: 5, minBackoffMs: 200 }),
      useGemini ? startFakeGemini() : Promise.resolve(null),
      startOidcIssuer(),
    ]);
    cleanups.push(
      postgres,
      redis,
      pubsubEmu,
      firestoreEmu,
      { stop: () => tasks.close() },
      gemini ? { stop: () => gemini.close() } : undefined,
      { stop: () => issuer.close() },
    );
    const gcs = await startGcs({
      signedUrlPublicKey: publicKey,
      // Eventarc's trigger on the bucket: every finalized object becomes a CloudEvent for summarize.
      onFinalize: (obj) =>
        obj.bucket === bucket
          ? deliverFinalize(`${urlOf('summarize')}/`, obj, finalizeDeliveries, closing.signal)
          : undefined,
    });
    cleanups.push(gcs);

    const env: Record<string, string> = {
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: projectId,
      PUBSUB_EMULATOR_HOST: pubsubEmu.emulatorHost,
      PUBSUB_PROJECT_ID: projectId,
      PUBSUB_ENABLED: 'true',
      FIRESTORE_EMULATOR_HOST: firestoreEmu.emulatorHost,
      DATABASE_URL: postgres.databaseUrl,
      REDIS_URL: redis.url,
      ARTIFACTS_BUCKET: bucket,
      STORAGE_API_ENDPOINT: gcs.apiEndpoint,
      HTBASE_ALLOW_PRIVATE_NETWORKS: 'true',
      HTBASE_DATA_DIR: join(dir, 'data'),
      LEASE_SECONDS: String(leaseSeconds),
      LOG_LEVEL: opts.logLevel ?? 'info',
    };
    const perProcess: Record<DeployableName, Record<string, string>> = {
      api: {
        API_KEYS_REQUIRED: 'true',
        RATE_LIMIT_PER_MINUTE: '1000',
        GCS_SIGNER_EMAIL: signer.clientEmail,
        GCS_SIGNER_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
      sync: {},
      summarize: {},
      summarizeTask: {},
      sweep: {
        SWEEP_AUDIENCE: `${urlOf('sweep')}/`,
        SWEEP_INVOKER_SA: schedulerServiceAccount,
        OIDC_JWKS_URL: issuer.jwksUrl,
      },
      browser: {
        HOST: '127.0.0.1',
        PUBSUB_VERIFY_OIDC: 'false',
        NAVIGATION_TIMEOUT_MS: '20000',
        CAPTURE_TIMEOUT_MS: '60000',
        SHUTDOWN_GRACE_MS: '3000',
      },
      monolith: {
        HOST: '127.0.0.1',
        PUBSUB_VERIFY_OIDC: 'false',
        MONOLITH_PATH: MONOLITH_STANDIN,
        MONOLITH_REQUIRED: 'true',
        CAPTURE_TIMEOUT_MS: '60000',
        SHUTDOWN_GRACE_MS: '3000',
      },
    };
    const tasksEnv: Record<string, string> = {
      CLOUD_TASKS_API_ENDPOINT: `127.0.0.1:${tasks.port}`,
      CLOUD_TASKS_LOCATION: 'us-central1',
      CLOUD_TASKS_QUEUE: 'summaries',
      SUMMARY_TASK_URL: `${urlOf('summarizeTask')}/`,
      SUMMARY_TASK_SERVICE_ACCOUNT: `htbase-tasks-invoker@${projectId}.iam.gserviceaccount.com`,
    };
    const summarizeEnv: Record<string, string> = {
      ...tasksEnv,
      ...(gemini
        ? {
            GEMINI_MODE: 'api-key',
            GEMINI_API_KEY: 'fake-gemini-key',
            GEMINI_BASE_URL: gemini.url,
            GEMINI_MAX_RETRIES: '1',
          }
        : { GEMINI_MODE: 'off' }),
    };
    // As Pulumi has it: the API enqueues summary requests on the same queue and never calls the model.
    Object.assign(perProcess.api, tasksEnv);
    Object.assign(perProcess.summarize, summarizeEnv);
    Object.assign(perProcess.summarizeTask, summarizeEnv);
    const envFor = (k: DeployableName, extra: Record<string, string> = {}) => ({
      ...env,
      ...perProcess[k],
      ...opts.env?.[k],
      ...extra,
    });

    // Topics and push subscriptions first, so the API can publish the moment it is up.
    pubsub = new PubSub({ projectId, apiEndpoint: pubsubEmu.emulatorHost });
    await ensureTopology(pubsub, {
      pushEndpoints: {
        browser: `${urlOf('browser')}/pubsub/push`,
        monolith: `${urlOf('monolith')}/pubsub/push`,
        articleChanged: `${urlOf('sync')}/`,
        deadLetter: `${urlOf('browser')}/pubsub/dead-letter`,
      },
      ackDeadlineSeconds: opts.pubsub?.ackDeadlineSeconds ?? 60,
      maxDeliveryAttempts: opts.pubsub?.maxDeliveryAttempts ?? 5,
      minBackoffSeconds: opts.pubsub?.minBackoffSeconds ?? 1,
      maxBackoffSeconds: opts.pubsub?.maxBackoffSeconds ?? 2,
    });
    firestore = new Firestore({ projectId, host: firestoreEmu.emulatorHost, ssl: false });

    // Every deployable and the test's own handle start together: they all migrate one fresh database at
    // once, which kysely's Migrator serializes with an advisory lock.
    const names = Object.keys(DEPLOYABLES) as DeployableName[];
    const started = await Promise.allSettled([
      openDatabase({ databaseUrl: postgres.databaseUrl, maxConnections: 4 }).then((h) => (dbHandle = h)),
      ...names.map((k) =>
        spawnDeployable({ name: k, kind: k, port: ports[k], env: envFor(k), dir, onLog: opts.onLog }).then(
          (p) => (procs[k] = p),
        ),
      ),
    ]);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    const topo: Topology = {
      projectId,
      bucket,
      dir,
      env,
      services: { postgres, redis, pubsub: pubsubEmu, firestore: firestoreEmu, gcs, tasks, gemini, issuer },
      procs: procs as Record<DeployableName, DeployableProcess>,
      db: dbHandle!.db,
      pubsub,
      firestore,
      finalizeDeliveries,
      signer,
      schedulerServiceAccount,
      apiUrl: urlOf('api'),
      createApiKey: (name, opts) => keyFor(dbHandle!.db, name, opts?.user),
      async spawn(name, kind, o = {}) {
        if (procs[name]) throw new Error(`a process named ${name} exists`);
        const p = await spawnDeployable({
          name,
          kind,
          port: o.port ?? (await freePort()),
          env: envFor(kind, o.env),
          dir,
          onLog: opts.onLog,
        });
        procs[name] = p;
        return p;
      },
      async restart(name, extra) {
        await procs[name]?.stop(5000);
        procs[name] = await spawnDeployable({
          name,
          kind: name,
          port: ports[name],
          env: envFor(name, extra),
          dir,
          onLog: opts.onLog,
        });
        return procs[name]!;
      },
      async invokeSweep() {
        const token = await issuer.mint({ aud: `${urlOf('sweep')}/`, email: schedulerServiceAccount });
        const res = await fetch(`${urlOf('sweep')}/`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'user-agent': 'Google-Cloud-Scheduler',
          },
          body: '{}',
          signal: AbortSignal.timeout(60_000),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        return { status: res.status, body };
      },
      close: closeAll,
    };
    return topo;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

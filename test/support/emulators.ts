// The Google Cloud emulators for the tests (Pub/Sub, Firestore): their jars run directly under Java, no gcloud
// wrapper, so the PID is the JVM's; each on a free loopback port in its own temp dir.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  ServiceUnavailableError,
  freePort,
  httpOk,
  makeStop,
  requireFile,
  spawnService,
  tail,
  tempDir,
  type ServiceHandle,
} from './service-process.ts';

export const GCLOUD_SDK = process.env.HTBASE_GCLOUD_SDK ?? '/usr/lib/google-cloud-sdk';
export const DEFAULT_PROJECT_ID = 'htbase-local';

export interface PubSubEmulatorHandle extends ServiceHandle {
  readonly projectId: string;
  /** host:port, what PUBSUB_EMULATOR_HOST and `new PubSub({apiEndpoint})` take. */
  readonly emulatorHost: string;
  /** Deletes every topic and subscription (the emulator's POST /reset). */
  reset(): Promise<void>;
}
export interface FirestoreEmulatorHandle extends ServiceHandle {
  readonly projectId: string;
  readonly emulatorHost: string;
  /** Deletes every document of the default database. */
  clear(): Promise<void>;
}

// ---------------------------------------------------------------- emulators
function findJava(): string {
  for (const p of [
    process.env.JAVA_HOME && join(process.env.JAVA_HOME, 'bin/java'),
    '/usr/bin/java',
    '/usr/local/bin/java',
  ]) {
    if (p && existsSync(p)) return p;
  }
  throw new ServiceUnavailableError(
    'java not found: the Google Cloud emulators need a Java runtime (apt-get install -y default-jre-headless).',
  );
}

export function findPubSubJar(): string {
  const lib = join(GCLOUD_SDK, 'platform/pubsub-emulator/lib');
  const jar = existsSync(lib) ? readdirSync(lib).find((f) => /^cloud-pubsub-emulator-.*-all\.jar$/.test(f)) : undefined;
  if (!jar) {
    throw new ServiceUnavailableError(
      `Pub/Sub emulator jar not found under ${lib}. Install it with \`gcloud components install pubsub-emulator\` ` +
        '(or apt-get install google-cloud-cli-pubsub-emulator), or set HTBASE_GCLOUD_SDK.',
    );
  }
  return join(lib, jar);
}

export function findFirestoreJar(): string {
  const jar = join(GCLOUD_SDK, 'platform/cloud-firestore-emulator/cloud-firestore-emulator.jar');
  requireFile(
    jar,
    'Firestore emulator jar',
    'Install it with `gcloud components install cloud-firestore-emulator` (or apt-get install google-cloud-cli-firestore-emulator), or set HTBASE_GCLOUD_SDK.',
  );
  return jar;
}

/** The Pub/Sub emulator jar, run directly (no gcloud wrapper, so the PID is the JVM's). */
export async function startPubSubEmulator(opts: { projectId?: string } = {}): Promise<PubSubEmulatorHandle> {
  const jar = findPubSubJar();
  const java = findJava();
  const projectId = opts.projectId ?? DEFAULT_PROJECT_ID;
  const dir = tempDir('pubsub');
  const log = join(dir, 'pubsub.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    try {
      const child = await spawnService({
        name: 'pubsub-emulator',
        cmd: java,
        args: ['-Xmx256m', '-jar', jar, '--host=127.0.0.1', `--port=${port}`],
        dir,
        log,
        ready: () => httpOk(`http://127.0.0.1:${port}/`),
        readyTimeoutMs: 30_000,
      });
      const emulatorHost = `127.0.0.1:${port}`;
      return {
        name: 'pubsub-emulator',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        projectId,
        emulatorHost,
        env: {
          PUBSUB_EMULATOR_HOST: emulatorHost,
          PUBSUB_PROJECT_ID: projectId,
          GOOGLE_CLOUD_PROJECT: projectId,
          METADATA_SERVER_DETECTION: 'none',
        },
        reset: async () => {
          const res = await fetch(`http://${emulatorHost}/reset`, {
            method: 'POST',
            signal: AbortSignal.timeout(5000),
          });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`pubsub emulator reset answered ${res.status}`);
        },
        stop: makeStop(child, dir, 'SIGTERM', 5000),
      };
    } catch (err) {
      if (attempt < 2 && /BindException|Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

/** The Firestore emulator jar, run directly. */
export async function startFirestoreEmulator(opts: { projectId?: string } = {}): Promise<FirestoreEmulatorHandle> {
  const jar = findFirestoreJar();
  const java = findJava();
  const projectId = opts.projectId ?? DEFAULT_PROJECT_ID;
  const dir = tempDir('firestore');
  const log = join(dir, 'firestore.log');
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const wsPort = await freePort();
    try {
      const child = await spawnService({
        name: 'firestore-emulator',
        cmd: java,
        args: [
          '-Xmx512m',
          '-cp',
          jar,
          'com.google.cloud.datastore.emulator.firestore.CloudFirestore',
          'start',
          '--host=127.0.0.1',
          `--port=${port}`,
          `--websocket_port=${wsPort}`,
        ],
        dir,
        log,
        ready: () => httpOk(`http://127.0.0.1:${port}/`),
        readyTimeoutMs: 45_000,
      });
      const emulatorHost = `127.0.0.1:${port}`;
      return {
        name: 'firestore-emulator',
        host: '127.0.0.1',
        port,
        dir,
        pid: child.pid!,
        projectId,
        emulatorHost,
        env: {
          FIRESTORE_EMULATOR_HOST: emulatorHost,
          GOOGLE_CLOUD_PROJECT: projectId,
          METADATA_SERVER_DETECTION: 'none',
        },
        clear: async () => {
          const res = await fetch(
            `http://${emulatorHost}/emulator/v1/projects/${projectId}/databases/(default)/documents`,
            {
              method: 'DELETE',
              signal: AbortSignal.timeout(10_000),
            },
          );
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`firestore emulator clear answered ${res.status}`);
        },
        stop: makeStop(child, dir, 'SIGTERM', 5000),
      };
    } catch (err) {
      if (attempt < 2 && /BindException|Address already in use/.test(tail(log))) continue;
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
}

// The real Firebase Auth emulator (firebase-tools' `emulators:start --only auth`) for the tests: on free loopback
// ports in its own temp dir with its own firebase.json, under a `demo-*` project (no credentials), ready when its
// REST root says so, stopped by killing the process group we started (the CLI spawns children).
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceUnavailableError, freePort, tail, tempDir, type ServiceHandle } from './service-process.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = join(ROOT, 'node_modules/firebase-tools/lib/bin/firebase.js');

export interface FirebaseAuthEmulatorHandle extends ServiceHandle {
  readonly projectId: string;
  /** host:port, what FIREBASE_AUTH_EMULATOR_HOST takes. */
  readonly emulatorHost: string;
  /** http://host:port, what connectAuthEmulator takes. */
  readonly url: string;
  /** The emulator's account of this email (its uid, sign-in providers, disabled flag), or undefined. */
  account(email: string): Promise<EmulatorAccount | undefined>;
  /** The uid the emulator gave the account of this email, or undefined when it has none. */
  uidOf(email: string): Promise<string | undefined>;
  /** Disables the account, as an administrator (or Google) ending its sessions does: refreshes then fail. */
  disable(email: string): Promise<void>;
}

export interface EmulatorAccount {
  uid: string;
  providers: string[];
  disabled: boolean;
}

// Process groups we started, so a crashing test process leaves no emulator behind.
const groups = new Set<number>();
process.once('exit', () => {
  for (const pgid of groups) killGroup(pgid, 'SIGKILL');
});

function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false; // ESRCH: nothing left in the group
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts the emulator; `projectId` must be a demo project, which the emulator runs without any credentials. */
export async function startFirebaseAuthEmulator(
  opts: { projectId?: string } = {},
): Promise<FirebaseAuthEmulatorHandle> {
  const projectId = opts.projectId ?? 'demo-htbase';
  if (!projectId.startsWith('demo-')) throw new Error(`the Auth emulator's project must be demo-*: ${projectId}`);
  if (!existsSync(CLI)) {
    throw new ServiceUnavailableError(`firebase-tools not found at ${CLI}: it is a devDependency (npm ci).`);
  }
  for (let attempt = 0; ; attempt++) {
    const dir = tempDir('firebase-auth');
    const log = join(dir, 'emulator.log');
    // The hub and logging ports default to 4400/4500: fixed ports would collide with any other emulator here.
    const [port, hub, logging] = [await freePort(), await freePort(), await freePort()];
    const host = '127.0.0.1';
    writeFileSync(
      join(dir, 'firebase.json'),
      JSON.stringify({
        emulators: {
          auth: { host, port },
          hub: { host, port: hub },
          logging: { host, port: logging },
          ui: { enabled: false },
        },
      }),
    );
    const child = spawnGroup(dir, log, projectId);
    const emulatorHost = `${host}:${port}`;
    const stop = makeGroupStop(child, dir);
    try {
      await waitReady(child, `http://${emulatorHost}/`, log, 90_000);
    } catch (err) {
      await stop();
      if (attempt < 2 && /not open|EADDRINUSE|port .* taken/i.test(String(err))) continue;
      throw err;
    }
    const base = `http://${emulatorHost}/identitytoolkit.googleapis.com/v1/projects/${projectId}`;
    // `Bearer owner` is the emulator's administrator credential, what firebase-admin sends it.
    const admin = async (path: string, body: unknown) => {
      const res = await fetch(`${base}/${path}`, {
        method: 'POST',
        headers: { authorization: 'Bearer owner', 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      const json = (await res.json()) as Record<string, unknown>;
      if (!res.ok) throw new Error(`auth emulator ${path} answered ${res.status}: ${JSON.stringify(json)}`);
      return json;
    };
    const account = async (email: string): Promise<EmulatorAccount | undefined> => {
      const found = (await admin('accounts:lookup', { email: [email.toLowerCase()] })) as {
        users?: Array<{ localId: string; disabled?: boolean; providerUserInfo?: Array<{ providerId: string }> }>;
      };
      const u = found.users?.[0];
      if (!u) return undefined;
      return { uid: u.localId, providers: (u.providerUserInfo ?? []).map((p) => p.providerId), disabled: !!u.disabled };
    };
    const uidOf = async (email: string) => (await account(email))?.uid;
    return {
      name: 'firebase-auth-emulator',
      host,
      port,
      dir,
      pid: child.pid!,
      projectId,
      emulatorHost,
      url: `http://${emulatorHost}`,
      env: { FIREBASE_AUTH_EMULATOR_HOST: emulatorHost, GCLOUD_PROJECT: projectId },
      account,
      uidOf,
      async disable(email) {
        const localId = await uidOf(email);
        if (!localId) throw new Error(`no emulator account for ${email}`);
        await admin('accounts:update', { localId, disableUser: true });
      },
      stop,
    };
  }
}

/** The CLI as the leader of a new process group, its output in the log, without the test runner's loaders. */
function spawnGroup(dir: string, log: string, projectId: string): ChildProcess {
  const fd = openSync(log, 'a');
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, FIREBASE_CLI_DISABLE_UPDATE_CHECK: 'true' };
    delete env.NODE_OPTIONS; // the runner's `--import tsx` is not the CLI's business
    delete env.FIREBASE_AUTH_EMULATOR_HOST;
    const child = spawn(process.execPath, [CLI, 'emulators:start', '--only', 'auth', '--project', projectId], {
      cwd: dir,
      stdio: ['ignore', fd, fd],
      env,
      detached: true,
    });
    if (child.pid) groups.add(child.pid);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Polls the emulator's REST root until it answers `{authEmulator: {ready: true}}`. */
async function waitReady(child: ChildProcess, root: string, log: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new ServiceUnavailableError(`firebase auth emulator exited before it was ready:\n${tail(log)}`);
    }
    try {
      const res = await fetch(root, { signal: AbortSignal.timeout(1000) });
      const body = (await res.json()) as { authEmulator?: { ready?: boolean } };
      if (res.ok && body.authEmulator?.ready === true) return;
    } catch {
      // not listening yet
    }
    await sleep(200);
  }
  throw new ServiceUnavailableError(`firebase auth emulator not ready within ${timeoutMs} ms:\n${tail(log)}`);
}

/** SIGTERM to the whole group (the CLI shuts its emulators down), SIGKILL after 5 s, until no member is left. */
function makeGroupStop(child: ChildProcess, dir: string): () => Promise<void> {
  const pgid = child.pid!;
  let stopping: Promise<void> | undefined;
  return () =>
    (stopping ??= (async () => {
      const deadline = Date.now() + 5000;
      killGroup(pgid, 'SIGTERM');
      while (killGroup(pgid, 0)) {
        if (Date.now() > deadline + 10_000) throw new Error(`firebase auth emulator group ${pgid} outlived SIGKILL`);
        if (Date.now() > deadline) killGroup(pgid, 'SIGKILL');
        await sleep(100);
      }
      groups.delete(pgid);
      rmSync(dir, { recursive: true, force: true });
    })());
}

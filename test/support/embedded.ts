// Starts HT Base embedded for a test: a temp data dir, loopback allowed, fast bus backoff; and small
// HTTP helpers to drive it through its API like a client would, checking every answer against its /openapi.json.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../shared/core/config.ts';
import { EmbeddedConfig } from '../../containers/standalone/config.ts';
import { silentLogger, createLogger } from '../../shared/core/logger.ts';
import { startEmbedded, type Embedded, type EmbeddedOptions } from '../../containers/standalone/app.ts';
import { ContractError, contractOf } from './openapi-contract.ts';

export async function tempDir(prefix = 'htbase-test-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export async function startTestEmbedded(
  dataDir: string,
  env: Record<string, string> = {},
  extra: Partial<EmbeddedOptions> = {},
): Promise<Embedded> {
  const config = loadConfig(EmbeddedConfig, {
    HTBASE_DATA_DIR: dataDir,
    HTBASE_ALLOW_PRIVATE_NETWORKS: 'true',
    PORT: '0',
    HOST: '127.0.0.1',
    SWEEP_INTERVAL_SECONDS: '3600',
    CHROME_PATH: process.env.CHROME_PATH,
    ...env,
  });
  const logger = process.env.TEST_LOG
    ? createLogger({ component: 'test', level: process.env.TEST_LOG })
    : silentLogger();
  return startEmbedded({ config, logger, searchPath: '', busBackoffMs: { min: 200, max: 1000 }, ...extra });
}

export async function http<T = any>(
  base: string,
  path: string,
  init: RequestInit & { json?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const { json, ...rest } = init;
  const r = await fetch(`${base}${path}`, {
    ...rest,
    headers: {
      ...(json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(rest.headers as Record<string, string>),
    },
    body: json !== undefined ? JSON.stringify(json) : rest.body,
  });
  const ct = r.headers.get('content-type') ?? '';
  const body = (ct.includes('json') ? await r.json() : Buffer.from(await r.arrayBuffer())) as T;
  // Every answer a test sees is one the served document allows: the document cannot drift from the routes.
  (await contractOf(base))?.assert({ method: rest.method ?? 'GET', path, status: r.status, headers: r.headers, body });
  return { status: r.status, headers: r.headers, body };
}

/** Polls GET /archives/{id} until `done` holds or the time runs out (then returns the last view). */
export async function waitFor<T = any>(
  base: string,
  id: string,
  done: (a: T) => boolean,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let body: T | undefined;
    try {
      body = (await http<T>(base, `/archives/${id}`)).body;
    } catch (err) {
      // A GET is safe to repeat: a connection reset under load is retried, anything persistent times out.
      if (err instanceof ContractError || Date.now() > deadline) throw err;
    }
    if (body !== undefined && (done(body) || Date.now() > deadline)) return body;
    await sleep(250);
  }
}

export const terminal = (a: { status: string }) => ['complete', 'partial', 'failed'].includes(a.status);

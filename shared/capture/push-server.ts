// The Cloud Run side of a capture worker: an HTTP server on $PORT that receives Pub/Sub push requests
// (verifying their OIDC token when configured), answers health checks, and on SIGTERM stops taking
// work, lets the job in flight finish within the grace period, then aborts it so its lease is released.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { CaptureWorker } from './worker.ts';
import type { Logger } from '../core/logger.ts';
import type { PushVerifier } from '../auth/oidc.ts';
import { AuthError } from '../auth/jwt.ts';

export interface PushServerOptions {
  worker: CaptureWorker;
  logger: Logger;
  /** Null only by explicit configuration (the Pub/Sub emulator sends no token). */
  verifier: PushVerifier | null;
  maxBodyBytes?: number;
  health?: () => Promise<Record<string, unknown>>;
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function send(res: ServerResponse, status: number, body: Record<string, unknown>): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

export interface PushServer {
  server: Server;
  /** Stop taking new pushes (they get 503 and Pub/Sub redelivers them elsewhere). */
  startDraining(): void;
  isDraining(): boolean;
}

export function createPushServer(opts: PushServerOptions): PushServer {
  const log = opts.logger.child({ component: 'push-server' });
  let draining = false;
  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      log.error({ err }, 'push handling failed');
      send(res, 500, { error: 'internal' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/')) {
      return send(res, draining ? 503 : 200, {
        status: draining ? 'draining' : 'ok',
        inFlight: opts.worker.inFlight(),
        ...(await opts.health?.()),
      });
    }
    if (req.method !== 'POST' || (path !== '/pubsub/push' && path !== '/pubsub/dead-letter'))
      return send(res, 404, { error: 'not found' });
    if (draining) return send(res, 503, { error: 'shutting down' }); // Pub/Sub redelivers to another instance
    if (opts.verifier) {
      try {
        await opts.verifier.verify(req.headers.authorization);
      } catch (err) {
        if (err instanceof AuthError) {
          log.warn({ code: err.code, status: err.status }, 'push request refused');
          return send(res, err.status, { error: err.code });
        }
        throw err;
      }
    }
    const raw = await readBody(req, opts.maxBodyBytes ?? 1024 * 1024);
    if (!raw) return send(res, 413, { error: 'body too large' });
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      // Answered 400: Pub/Sub retries, then the dead-letter topic takes it (every subscription has one).
      return send(res, 400, { error: 'not JSON' });
    }
    const outcome =
      path === '/pubsub/push' ? await opts.worker.handlePush(body) : await opts.worker.handleDeadLetter(body);
    send(res, outcome.status, { detail: outcome.detail });
  }

  return {
    server,
    startDraining: () => {
      draining = true;
    },
    isDraining: () => draining,
  };
}

/** SIGTERM handling for a push server: drain, wait up to `graceMs` for the job in flight, abort the rest. */
export function trapShutdown(
  push: PushServer,
  worker: CaptureWorker,
  opts: { graceMs: number; logger: Logger; onDraining?: () => void; onClosed: () => Promise<void> },
): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    push.startDraining();
    opts.onDraining?.();
    opts.logger.info({ signal, inFlight: worker.inFlight() }, 'draining');
    const deadline = Date.now() + opts.graceMs;
    while (worker.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (worker.inFlight() > 0) {
      // Aborting releases the artifacts (back to pending) so the redelivered message finds them at once.
      worker.abortAll('instance shutting down');
      const until = Date.now() + 2000;
      while (worker.inFlight() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    }
    push.server.close();
    push.server.closeAllConnections();
    await opts.onClosed();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

// The shell of a long-running process on one VPS (summarize, sweep): a /healthz endpoint for the compose health
// check and SIGTERM/SIGINT handling that closes what the process built, within a bound.
import { createServer, type Server } from 'node:http';
import type { Logger } from '../core/logger.ts';

export interface QueueProcessOptions {
  port: number;
  host: string;
  logger: Logger;
  /** Readiness details; a throw answers 503. */
  health: () => Promise<Record<string, unknown>>;
  /** Stops consuming and closes connections; bounded by `closeTimeoutMs`. */
  close: () => Promise<void>;
  closeTimeoutMs?: number;
}

export async function startQueueProcess(opts: QueueProcessOptions): Promise<Server> {
  const log = opts.logger;
  let stopping = false;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/healthz' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      return;
    }
    if (stopping) {
      res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"stopping"}');
      return;
    }
    opts.health().then(
      (h) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...h })),
      (err) => {
        log.warn({ err }, 'health check failed');
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"unhealthy"}');
      },
    );
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => ok());
  });
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A close that hangs (a stuck connection) must not keep the container from stopping.
    const force = setTimeout(() => process.exit(1), opts.closeTimeoutMs ?? 20_000);
    force.unref();
    try {
      await opts.close();
    } catch (err) {
      log.error({ err }, 'shutdown failed');
    }
    server.close();
    server.closeAllConnections();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  return server;
}

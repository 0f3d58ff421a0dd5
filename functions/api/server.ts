// The API on a plain Node HTTP server: what one VPS runs (infra/compose/compose.yaml). The handler is the one the
// Functions Framework serves in the cloud (index.ts); only the server around it differs. The framework wraps every
// request in a Node domain (an async hook on every promise) and parses each body before the app does: without it
// the same handler answers about 1.6 times the POST /archive requests a second (README, issue 17).
import { createServer } from 'node:http';
import { handleApi, listenPort } from './index.ts';

// All interfaces unless HOST says otherwise, as under the Functions Framework: this server runs in a container
// (the published port decides who reaches it), and the cloud API refuses to start without an auth method.
const host = process.env.HOST || '0.0.0.0';
const server = createServer(handleApi);
// Node's own default, kept explicitly: a 50 MiB upload (UPLOAD_MAX_BYTES) on a slow link needs the time.
server.requestTimeout = 300_000;
// Longer than clients' idle keep-alive (a reverse proxy's, undici's 4 s), so the server never closes a socket a
// client is about to reuse.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(listenPort, host, () => resolve());
});

// On SIGTERM (docker stop): stop accepting, let the requests in flight finish (their publishes are awaited within
// them), then exit; past 10 s, exit non-zero. The process's connections (PostgreSQL, the queue) end with it, as a
// function instance's do.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(1), 10_000).unref();
  });
}

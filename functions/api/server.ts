// The API on a plain Node HTTP server: what one VPS runs (infra/compose/compose.yaml). The handler is the one the
// Functions Framework serves in the cloud (index.ts); only the server around it differs. The framework wraps every
// request in a Node domain (an async hook on every promise) and parses each body before the app does: without it
// the same handler answers about 1.6 times the POST /archive requests a second (README, issue 17).
import { createServer } from 'node:http';
import { handleApi, listenOn } from './index.ts';

const server = createServer(handleApi);
server.requestTimeout = 60_000;
// Longer than clients' idle keep-alive (a reverse proxy's, undici's 4 s), so the server never closes a socket a
// client is about to reuse.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(listenOn.port, listenOn.host, () => resolve());
});

// As the Functions Framework does on SIGTERM (docker stop): stop accepting, let requests in flight finish, exit.
// The process's connections (PostgreSQL, the queue) end with it, as a function instance's do.
let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 10_000).unref();
  });
}

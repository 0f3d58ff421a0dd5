// The egress proxy's destination ports and byte caps (issue 16): only ports 80 and 443 unless configured
// otherwise, and monolith's per-asset cap (per http response, per https tunnel). Loopback origins only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startEgressProxy, type EgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';

const logger = silentLogger();
let origin: http.Server;
let port: number;

before(async () => {
  origin = http.createServer((req, res) => {
    const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? 10);
    const body = Buffer.alloc(n, 'a');
    if (req.url?.startsWith('/declared')) res.writeHead(200, { 'content-length': n }).end(body);
    else {
      res.writeHead(200, { 'content-type': 'text/plain' }); // chunked: no length
      for (let i = 0; i < n; i += 1000) res.write(body.subarray(i, i + 1000));
      res.end();
    }
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  port = (origin.address() as net.AddressInfo).port;
});

after(async () => {
  origin.closeAllConnections();
  await new Promise((r) => origin.close(r));
});

/** GET through the proxy; resolves with the status, the egress header and the bytes received before the end or a cut. */
function get(
  proxy: EgressProxy,
  url: string,
): Promise<{ status: number; egress?: string; bytes: number; cut: boolean }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, path: url, agent: false }, (res) => {
      let bytes = 0;
      const egress = res.headers['x-htbase-egress'] as string | undefined;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, egress, bytes, cut: false }));
      res.on('error', () => resolve({ status: res.statusCode ?? 0, egress, bytes, cut: true }));
      res.on('aborted', () => resolve({ status: res.statusCode ?? 0, egress, bytes, cut: true }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('test request timed out')));
    // A cut before the first byte reached the client is a hang-up without a response.
    req.on('error', () => resolve({ status: 0, bytes: 0, cut: true }));
    req.end();
  });
}

function connect(proxy: EgressProxy, target: string): Promise<{ status: number; egress?: string; socket: net.Socket }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: target, agent: false });
    req.setTimeout(5000, () => req.destroy(new Error('test CONNECT timed out')));
    req.on('connect', (res, socket) =>
      resolve({ status: res.statusCode ?? 0, egress: res.headers['x-htbase-egress'] as string, socket }),
    );
    req.on('error', reject);
    req.end();
  });
}

test('with private networks refused only ports 80 and 443 are dialled', async () => {
  const proxy = await startEgressProxy({
    allowPrivateNetworks: false,
    logger,
    resolve: async () => ['93.184.216.34'], // a public address: without the port rule it would be dialled
    connectTimeoutMs: 500,
  });
  try {
    for (const p of [25, 6379, 8080]) {
      const c = await connect(proxy, `public.example:${p}`);
      assert.equal(c.status, 403, `CONNECT to port ${p}`);
      assert.equal(c.egress, 'blocked_address');
      c.socket.destroy();
      const h = await get(proxy, `http://public.example:${p}/`);
      assert.equal(h.status, 403, `http to port ${p}`);
      assert.equal(h.egress, 'blocked_address');
    }
  } finally {
    await proxy.close();
  }
});

test('allowedPorts configures the ports; any port when private networks are allowed and nothing is set', async () => {
  const strict = await startEgressProxy({ allowPrivateNetworks: true, logger, allowedPorts: [80, 443] });
  const open = await startEgressProxy({ allowPrivateNetworks: true, logger });
  const custom = await startEgressProxy({ allowPrivateNetworks: true, logger, allowedPorts: [port] });
  try {
    assert.equal((await get(strict, `http://127.0.0.1:${port}/`)).status, 403);
    assert.equal((await get(open, `http://127.0.0.1:${port}/`)).status, 200);
    assert.equal((await get(custom, `http://127.0.0.1:${port}/`)).status, 200);
  } finally {
    await Promise.all([strict.close(), open.close(), custom.close()]);
  }
});

test('maxResponseBytes refuses a declared oversized response and cuts an undeclared one', async () => {
  const proxy = await startEgressProxy({ allowPrivateNetworks: true, logger, maxResponseBytes: 10_000 });
  try {
    const small = await get(proxy, `http://127.0.0.1:${port}/chunked?n=9000`);
    assert.deepEqual([small.status, small.bytes, small.cut], [200, 9000, false]);
    const declared = await get(proxy, `http://127.0.0.1:${port}/declared?n=50000`);
    assert.equal(declared.status, 502);
    assert.equal(declared.egress, 'too_large');
    const streamed = await get(proxy, `http://127.0.0.1:${port}/chunked?n=500000`);
    assert.equal(streamed.cut, true, 'an undeclared oversized response ended normally');
    assert.ok(streamed.bytes < 500_000, `${streamed.bytes} bytes came through`);
  } finally {
    await proxy.close();
  }
});

test('maxTunnelBytes closes a CONNECT tunnel once the upstream sent more', async () => {
  const proxy = await startEgressProxy({ allowPrivateNetworks: true, logger, maxTunnelBytes: 20_000 });
  try {
    const { status, socket } = await connect(proxy, `127.0.0.1:${port}`);
    assert.equal(status, 200);
    const received = await new Promise<number>((resolve) => {
      let n = 0;
      socket.on('data', (c: Buffer) => (n += c.length));
      socket.on('close', () => resolve(n));
      socket.write(`GET /chunked?n=2000000 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    });
    assert.ok(received < 2_000_000, `${received} bytes came through the tunnel`);
  } finally {
    await proxy.close();
  }
});

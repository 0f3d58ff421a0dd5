// Tests for shared/net/egress-proxy.ts: the SSRF guard on every proxied request and CONNECT tunnel,
// pinning to the checked address, redirects, and the bounds (idle timeout, connection cap). Loopback only.
// Its wire helpers (shared/net/egress-wire.ts) are pure where they can be, and tested as such at the end.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { startEgressProxy, proxyEnv, type EgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { filteredRawHeaders, parseAuthority } from '../../shared/net/egress-wire.ts';

interface Hit {
  path: string;
  host: string | undefined;
  proxyAuthorization: string | undefined;
}

/** A loopback origin that records what reached it. */
async function startOrigin(): Promise<{ server: http.Server; port: number; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    hits.push({ path: req.url ?? '', host: req.headers.host, proxyAuthorization: req.headers['proxy-authorization'] });
    if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-origin': 'yes' });
    res.end(`origin says ${req.url}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as net.AddressInfo).port, hits };
}

async function closeServer(server: http.Server | net.Server): Promise<void> {
  if (server instanceof http.Server) server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/** An absolute-URI request through the proxy, as curl/reqwest send it. */
function viaProxy(
  proxy: EgressProxy,
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: proxy.port, method: 'GET', path: url, headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error('test request timed out')));
    req.on('error', reject);
    req.end();
  });
}

function connectVia(
  proxy: EgressProxy,
  target: string,
): Promise<{ status: number; socket: net.Socket; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: target, agent: false });
    req.setTimeout(5000, () => req.destroy(new Error('test CONNECT timed out')));
    req.on('connect', (res, socket) => resolve({ status: res.statusCode ?? 0, socket, headers: res.headers }));
    req.on('error', reject);
    req.end();
  });
}

describe('egress proxy, private networks refused (the production setting)', () => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let proxy: EgressProxy;
  const resolved: string[] = [];
  before(async () => {
    origin = await startOrigin();
    proxy = await startEgressProxy({
      allowPrivateNetworks: false,
      logger: silentLogger(),
      // "rebind.test" plays a public name whose DNS answer points inside.
      resolve: async (host) => {
        resolved.push(host);
        if (host === 'rebind.test') return ['127.0.0.1'];
        if (host === 'rebind6.test') return ['::ffff:127.0.0.1'];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
  });
  after(async () => {
    await proxy.close();
    await closeServer(origin.server);
  });

  test('http: loopback, private, link-local, CGNAT, metadata and IPv6 forms are refused with 403 before any connection', async () => {
    const targets = [
      `http://127.0.0.1:${origin.port}/secret`,
      `http://127.1.2.3:${origin.port}/secret`,
      `http://localhost:${origin.port}/secret`,
      `http://[::1]:${origin.port}/secret`,
      `http://[::ffff:127.0.0.1]:${origin.port}/secret`,
      'http://10.0.0.1/',
      'http://172.16.5.4/',
      'http://192.168.1.1/',
      'http://100.64.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://169.254.10.10/',
      'http://[fe80::1]/',
      'http://[fd00::1]/',
      'http://metadata.google.internal/computeMetadata/v1/',
      'http://0.0.0.0/',
      `http://rebind.test:${origin.port}/secret`,
      `http://rebind6.test:${origin.port}/secret`,
    ];
    for (const t of targets) {
      const res = await viaProxy(proxy, t);
      assert.equal(res.status, 403, `${t} should be refused, got ${res.status}`);
      assert.equal(res.headers['x-htbase-egress'], 'blocked_address', t);
      assert.equal(res.headers['x-htbase-blocked'], 'blocked_address', t);
      assert.match(res.body, /^egress refused: /);
    }
    assert.equal(origin.hits.length, 0, 'nothing reached the loopback origin');
    assert.ok(resolved.includes('rebind.test'), 'the name was resolved by the guard');
    const st = proxy.stats();
    assert.equal(st.refused, targets.length);
    assert.ok(st.recentRefusals.some((r) => r.target.startsWith('http://169.254.169.254/')));
  });

  test('CONNECT: the same targets are refused, including a name resolving to 127.0.0.1', async () => {
    for (const t of [
      `127.0.0.1:${origin.port}`,
      `[::1]:${origin.port}`,
      '10.1.2.3:443',
      '169.254.169.254:80',
      'metadata.google.internal:443',
      `rebind.test:${origin.port}`,
      `localhost:${origin.port}`,
    ]) {
      const { status, socket, headers } = await connectVia(proxy, t);
      socket.destroy();
      assert.equal(status, 403, `${t} should be refused`);
      assert.equal(headers['x-htbase-egress'], 'blocked_address');
    }
    assert.equal(origin.hits.length, 0);
  });

  test('malformed proxy requests are rejected', async () => {
    const originForm = await viaProxy(proxy, '/just-a-path');
    assert.equal(originForm.status, 400);
    const httpsAbsolute = await viaProxy(proxy, 'https://example.com/');
    assert.equal(httpsAbsolute.status, 400, 'https must go through CONNECT so TLS stays end to end');
    const badConnect = await connectVia(proxy, 'no-port-here');
    badConnect.socket.destroy();
    assert.equal(badConnect.status, 400);
  });

  test('proxyEnv routes both spellings through the proxy and clears NO_PROXY', () => {
    const env = proxyEnv(proxy.url);
    for (const k of ['http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY']) assert.equal(env[k], proxy.url);
    assert.equal(env.no_proxy, '');
    assert.equal(env.NO_PROXY, '');
    assert.match(proxy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('egress proxy, private networks allowed (local development and tests)', () => {
  let origin: Awaited<ReturnType<typeof startOrigin>>;
  let proxy: EgressProxy;
  const lookups: string[] = [];
  before(async () => {
    origin = await startOrigin();
    proxy = await startEgressProxy({
      allowPrivateNetworks: true,
      logger: silentLogger(),
      idleTimeoutMs: 400,
      maxConnections: 2,
      resolve: async (host) => {
        lookups.push(host);
        if (host === 'pinned.test') return ['127.0.0.1'];
        if (host === 'sneaky-metadata.test') return ['169.254.169.254'];
        throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
      },
    });
  });
  after(async () => {
    await proxy.close();
    await closeServer(origin.server);
  });

  test('forwards to loopback, keeps the URL host as Host and drops proxy credentials', async () => {
    const res = await viaProxy(proxy, `http://127.0.0.1:${origin.port}/hello?x=1`, {
      'proxy-authorization': 'Basic c2VjcmV0',
      host: 'spoofed.example',
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'origin says /hello?x=1');
    assert.equal(res.headers['x-origin'], 'yes');
    const hit = origin.hits.at(-1)!;
    assert.equal(hit.host, `127.0.0.1:${origin.port}`);
    assert.equal(hit.proxyAuthorization, undefined);
  });

  test('connects to the address the guard checked, without resolving again', async () => {
    const before = lookups.length;
    // The system resolver knows nothing of .test names: success proves the checked address was used.
    const res = await viaProxy(proxy, `http://pinned.test:${origin.port}/pinned`);
    assert.equal(res.status, 200);
    assert.equal(res.body, 'origin says /pinned');
    assert.equal(origin.hits.at(-1)!.host, `pinned.test:${origin.port}`);
    assert.deepEqual(lookups.slice(before), ['pinned.test'], 'one lookup, by the guard');
  });

  test('metadata stays refused, by address, by name and behind a DNS answer', async () => {
    for (const t of [
      'http://169.254.169.254/latest/meta-data/',
      'http://[::ffff:169.254.169.254]/',
      'http://metadata.google.internal/',
      'http://sneaky-metadata.test/',
    ]) {
      const res = await viaProxy(proxy, t);
      assert.equal(res.status, 403, t);
    }
    const { status, socket } = await connectVia(proxy, '169.254.169.254:443');
    socket.destroy();
    assert.equal(status, 403);
  });

  test('a redirect to 169.254.169.254 is refused on the follow-up request', async () => {
    const first = await viaProxy(proxy, `http://127.0.0.1:${origin.port}/to-metadata`);
    assert.equal(first.status, 302, 'the proxy passes redirects to the client, which comes back through it');
    const next = new URL(first.headers.location!, `http://127.0.0.1:${origin.port}/to-metadata`).href;
    assert.equal(next, 'http://169.254.169.254/latest/meta-data/');
    const second = await viaProxy(proxy, next);
    assert.equal(second.status, 403);
    assert.ok(proxy.stats().recentRefusals.some((r) => r.target === next));
  });

  test('CONNECT tunnels bytes both ways to an allowed target', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as net.AddressInfo).port;
    try {
      const { status, socket } = await connectVia(proxy, `127.0.0.1:${port}`);
      assert.equal(status, 200);
      const reply = await new Promise<string>((resolve) => {
        socket.once('data', (d) => resolve(d.toString()));
        socket.write('ping through the tunnel');
      });
      assert.equal(reply, 'ping through the tunnel');
      socket.destroy();
    } finally {
      await closeServer(echo);
    }
  });

  test('an idle tunnel is closed after idleTimeoutMs', async () => {
    const silent = net.createServer(() => undefined);
    const held: net.Socket[] = [];
    silent.on('connection', (s) => held.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const { status, socket } = await connectVia(proxy, `127.0.0.1:${port}`);
      assert.equal(status, 200);
      const t0 = Date.now();
      await new Promise<void>((r) => socket.once('close', () => r()));
      const waited = Date.now() - t0;
      assert.ok(waited >= 300 && waited < 3000, `closed after ${waited} ms`);
    } finally {
      for (const s of held) s.destroy();
      await closeServer(silent);
    }
  });

  test('beyond maxConnections new requests get 503', async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const port = (echo.address() as net.AddressInfo).port;
    const open: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const c = await connectVia(proxy, `127.0.0.1:${port}`);
        assert.equal(c.status, 200);
        open.push(c.socket);
      }
      const third = await viaProxy(proxy, `http://127.0.0.1:${origin.port}/third`);
      assert.equal(third.status, 503);
    } finally {
      for (const s of open) s.destroy();
      await closeServer(echo);
    }
  });
});

describe('egress wire helpers', () => {
  test('CONNECT targets: host:port and [v6]:port only, ports 1-65535', () => {
    assert.deepEqual(parseAuthority('example.com:443'), { hostname: 'example.com', port: 443 });
    assert.deepEqual(parseAuthority('[::1]:8443'), { hostname: '::1', port: 8443 });
    for (const bad of ['example.com', 'example.com:0', 'example.com:65536', 'user@example.com:443', 'a/b:443', ':443'])
      assert.equal(parseAuthority(bad), null, bad);
  });

  test('hop-by-hop headers, the ones Connection names, and the dropped ones are not forwarded', () => {
    const raw = ['Host', 'a', 'Connection', 'keep-alive, X-Secret', 'X-Secret', '1', 'Proxy-Authorization', 'p'];
    assert.deepEqual(filteredRawHeaders([...raw, 'Accept', '*/*'], ['host']), ['Accept', '*/*']);
  });
});

// The egress proxy: a loopback HTTP forward proxy (absolute-URI requests for http, CONNECT for https)
// that puts every connection a capture tool makes (monolith, Chromium) through the one SSRF guard,
// and connects to the address it checked so DNS rebinding cannot slip an internal address in between.
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { cachingResolver, checkHost, type GuardOptions } from './ssrf.ts';
import { PermanentError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { connectChecked, filteredRawHeaders, parseAuthority, refusalHeaders, writeRawResponse } from './egress-wire.ts';

export interface EgressProxyOptions {
  /** Allow loopback and private targets: local development and tests only. Metadata stays refused. */
  allowPrivateNetworks: boolean;
  /** Resolver used by the guard, replaceable in tests (e.g. a name that resolves to 127.0.0.1). */
  resolve?: GuardOptions['resolve'];
  logger: Logger;
  /** Concurrent client connections; beyond it requests get 503. Default 64. */
  maxConnections?: number;
  /** A connection with no traffic either way for this long is closed. Default 30 s. */
  idleTimeoutMs?: number;
  /** Time allowed to open the upstream TCP connection (per address tried). Default 10 s. */
  connectTimeoutMs?: number;
  /**
   * Destination ports it connects to. Default: 80 and 443 only, or any port when private networks are
   * allowed (local fixture sites listen on random ports). Issue 16: a page must not reach SMTP, Redis, etc.
   */
  allowedPorts?: readonly number[] | 'any';
  /**
   * Per http response (monolith's per-asset cap): one declaring more is refused (502 too_large), one streaming
   * more is cut. Https is end to end, so per tunnel it is `maxTunnelBytes` from the upstream instead.
   */
  maxResponseBytes?: number;
  maxTunnelBytes?: number;
}

export interface EgressRefusal {
  /** host:port (CONNECT) or the absolute URL (http) that was refused. */
  target: string;
  code: string;
  at: number;
}

export interface EgressProxyStats {
  /** Absolute-URI http requests answered (any outcome). */
  requests: number;
  /** CONNECT tunnels asked for (any outcome). */
  tunnels: number;
  /** Requests and tunnels refused by the guard (403). */
  refused: number;
  /** Upstream failures (502/504) and overload answers (503). */
  failed: number;
  /** Client connections open now. */
  active: number;
  /** The most recent refusals, newest last (bounded). */
  recentRefusals: EgressRefusal[];
}

export interface EgressProxy {
  /** http://127.0.0.1:PORT, for http_proxy/https_proxy or Chromium's --proxy-server. */
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): EgressProxyStats;
}

const MAX_RECENT_REFUSALS = 50;

/**
 * The child-process environment that routes a tool through the proxy. Both spellings are set because
 * tools disagree on case; NO_PROXY is cleared so nothing (not even localhost) bypasses the guard.
 */
export function proxyEnv(proxyUrl: string): Record<string, string> {
  return {
    http_proxy: proxyUrl,
    https_proxy: proxyUrl,
    HTTP_PROXY: proxyUrl,
    HTTPS_PROXY: proxyUrl,
    ALL_PROXY: proxyUrl,
    all_proxy: proxyUrl,
    no_proxy: '',
    NO_PROXY: '',
  };
}

/** Calls `cut` (and stops `src`) once more than `max` bytes came out of it: undeclared or lying lengths. */
function cutAfter(src: NodeJS.ReadableStream & { destroy(): void }, max: number, cut: () => void): void {
  let seen = 0;
  src.on('data', (c: Buffer) => {
    seen += c.length;
    if (seen > max) {
      src.destroy();
      cut();
    }
  });
}

export async function startEgressProxy(opts: EgressProxyOptions): Promise<EgressProxy> {
  const logger = opts.logger.child({ component: 'egress-proxy' });
  const guard: GuardOptions = {
    allowPrivateNetworks: opts.allowPrivateNetworks,
    resolve: opts.resolve ?? cachingResolver(),
  };
  const maxConnections = opts.maxConnections ?? 64;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
  const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
  const ports = opts.allowedPorts ?? (opts.allowPrivateNetworks ? 'any' : [80, 443]);
  const portRefused = (port: number) =>
    ports !== 'any' && !ports.includes(port)
      ? new PermanentError('blocked_address', `port ${port} is not an allowed destination port`)
      : null;
  const counters = { requests: 0, tunnels: 0, refused: 0, failed: 0 };
  const recentRefusals: EgressRefusal[] = [];
  const clients = new Set<net.Socket>();
  const upstreams = new Set<net.Socket>();

  const refuse = (target: string, err: unknown): { status: number; reason: string; code: string; body: string } => {
    if (err instanceof PermanentError) {
      counters.refused++;
      recentRefusals.push({ target, code: err.code, at: Date.now() });
      if (recentRefusals.length > MAX_RECENT_REFUSALS) recentRefusals.shift();
      logger.warn({ url: target, code: err.code }, 'egress refused');
      return { status: 403, reason: 'Forbidden', code: err.code, body: `egress refused: ${err.message}\n` };
    }
    counters.failed++;
    logger.warn({ url: target, err }, 'egress guard failed');
    return { status: 502, reason: 'Bad Gateway', code: 'guard_error', body: 'egress guard could not check the host\n' };
  };

  const trackUpstream = (socket: net.Socket, peer: net.Socket): void => {
    upstreams.add(socket);
    socket.setTimeout(idleTimeoutMs, () => {
      socket.destroy();
      peer.destroy();
    });
    socket.once('close', () => upstreams.delete(socket));
  };

  const server = http.createServer({
    requestTimeout: idleTimeoutMs * 2,
    headersTimeout: Math.min(idleTimeoutMs, 20_000),
  });
  server.maxConnections = maxConnections * 2; // hard ceiling; the soft limit below answers 503

  server.on('connection', (socket: net.Socket) => {
    clients.add(socket);
    socket.setTimeout(idleTimeoutMs, () => socket.destroy());
    socket.once('close', () => clients.delete(socket));
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    counters.requests++;
    void handleHttp(req, res);
  });

  async function handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: string, headers: Record<string, string> = {}): void => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close', ...headers });
      res.end(body);
    };
    if (clients.size > maxConnections) {
      counters.failed++;
      send(503, 'egress proxy busy\n');
      return;
    }
    const raw = req.url ?? '';
    let url: URL;
    try {
      if (!/^http:\/\//i.test(raw)) throw new Error('not absolute http');
      url = new URL(raw);
    } catch {
      // Origin-form requests are not proxy requests; https must use CONNECT so TLS stays end to end.
      send(400, 'egress proxy: send absolute http:// URIs, or CONNECT for https\n');
      return;
    }
    if (url.username || url.password) {
      send(400, 'egress proxy: credentials in URLs are not forwarded\n');
      return;
    }
    const port = url.port ? Number(url.port) : 80;
    let addresses: string[];
    try {
      addresses = await checkHost(url.hostname, guard);
      const refused = portRefused(port);
      if (refused) throw refused;
    } catch (err) {
      const r = refuse(url.href, err);
      send(r.status, r.body, refusalHeaders(r));
      return;
    }
    let upstreamSocket: net.Socket;
    try {
      upstreamSocket = await connectChecked(addresses, port, connectTimeoutMs);
    } catch (err) {
      counters.failed++;
      logger.info({ url: url.href, err }, 'egress upstream connect failed');
      send(502, 'egress proxy: upstream connection failed\n', { 'x-htbase-egress': 'connect_failed' });
      return;
    }
    if (req.destroyed) {
      upstreamSocket.destroy();
      return;
    }
    trackUpstream(upstreamSocket, req.socket);
    const headers = filteredRawHeaders(req.rawHeaders, ['host']);
    // The Host header follows the URL that was checked, never a value the client put beside it.
    headers.push('Host', url.host);
    const upstream = http.request({
      createConnection: () => upstreamSocket,
      method: req.method,
      path: `${url.pathname}${url.search}`,
      headers,
      setHost: false,
    });
    upstream.on('response', (ures) => {
      const max = opts.maxResponseBytes;
      if (max !== undefined && Number(ures.headers['content-length'] ?? 0) > max) {
        counters.failed++;
        logger.info({ url: url.href, limit: max }, 'egress response over the size limit refused');
        ures.destroy();
        send(502, `egress proxy: the response is over the ${max}-byte limit\n`, { 'x-htbase-egress': 'too_large' });
        return;
      }
      res.writeHead(ures.statusCode ?? 502, ures.statusMessage, filteredRawHeaders(ures.rawHeaders));
      if (max !== undefined) cutAfter(ures, max, () => res.destroy());
      ures.pipe(res);
      ures.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      counters.failed++;
      logger.info({ url: url.href, err }, 'egress upstream failed');
      send(502, 'egress proxy: upstream failed\n', { 'x-htbase-egress': 'upstream_failed' });
      upstreamSocket.destroy();
    });
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
    req.pipe(upstream);
  }

  server.on('connect', (req: http.IncomingMessage, clientSocket: Duplex, head: Buffer) => {
    counters.tunnels++;
    void handleConnect(req, clientSocket as net.Socket, head);
  });

  async function handleConnect(req: http.IncomingMessage, client: net.Socket, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    if (clients.size > maxConnections) {
      counters.failed++;
      writeRawResponse(client, 503, 'Service Unavailable', 'egress proxy busy\n');
      return;
    }
    const target = req.url ?? '';
    const authority = parseAuthority(target);
    if (!authority) {
      writeRawResponse(client, 400, 'Bad Request', 'egress proxy: CONNECT needs host:port\n');
      return;
    }
    let addresses: string[];
    try {
      addresses = await checkHost(authority.hostname, guard);
      const refused = portRefused(authority.port);
      if (refused) throw refused;
    } catch (err) {
      const r = refuse(target, err);
      writeRawResponse(client, r.status, r.reason, r.body, refusalHeaders(r));
      return;
    }
    let upstream: net.Socket;
    try {
      upstream = await connectChecked(addresses, authority.port, connectTimeoutMs);
    } catch (err) {
      counters.failed++;
      logger.info({ url: target, err }, 'egress upstream connect failed');
      writeRawResponse(client, 502, 'Bad Gateway', 'egress proxy: upstream connection failed\n', {
        'X-Htbase-Egress': 'connect_failed',
      });
      return;
    }
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    trackUpstream(upstream, client);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length) upstream.write(head);
    if (opts.maxTunnelBytes !== undefined) cutAfter(upstream, opts.maxTunnelBytes, () => client.destroy());
    upstream.pipe(client);
    client.pipe(upstream);
  }

  server.on('clientError', (_err, socket) => writeRawResponse(socket, 400, 'Bad Request', 'bad request\n'));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  logger.debug({ port, allowPrivateNetworks: opts.allowPrivateNetworks }, 'egress proxy listening');

  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats: () => ({ ...counters, active: clients.size, recentRefusals: [...recentRefusals] }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of clients) s.destroy();
        for (const s of upstreams) s.destroy();
      });
      return closing;
    },
  };
}

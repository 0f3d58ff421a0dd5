// The egress proxy's wire helpers: connecting to an address the guard already checked, parsing CONNECT targets,
// dropping hop-by-hop headers, and the raw answers the proxy writes on a socket it owns (refusals, errors).
import net from 'node:net';
import type { Duplex } from 'node:stream';

/** Headers that describe one hop and must not be forwarded (RFC 9110 7.6.1), plus proxy credentials. */
const HOP_BY_HOP = new Set([
  'connection',
  'proxy-connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Opens a TCP connection to the first checked address that answers; never resolves a name itself. */
export function connectChecked(addresses: string[], port: number, timeoutMs: number): Promise<net.Socket> {
  // IPv4 first: on hosts without IPv6 routes an AAAA answer would cost a full connect timeout.
  const ordered = [...addresses].sort((a, b) => net.isIP(a) - net.isIP(b));
  return new Promise((resolve, reject) => {
    let i = 0;
    let lastError: Error = new Error('no address to connect to');
    const next = (): void => {
      const address = ordered[i++];
      if (address === undefined) {
        reject(lastError);
        return;
      }
      const socket = net.connect({ host: address, port });
      const timer = setTimeout(() => {
        socket.destroy();
        lastError = Object.assign(new Error(`connect to ${address}:${port} timed out`), { code: 'ETIMEDOUT' });
        next();
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        lastError = err;
        next();
      });
    };
    next();
  });
}

/** Parses CONNECT's authority-form target (host:port, [v6]:port); null if malformed. */
export function parseAuthority(target: string): { hostname: string; port: number } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/\s@]+):(\d{1,5})$/.exec(target);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { hostname: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function filteredRawHeaders(raw: string[], drop: string[] = []): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') {
      for (const token of raw[i + 1]!.split(',')) named.add(token.trim().toLowerCase());
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(name) || named.has(name) || drop.includes(name)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/**
 * Headers on the proxy's own answers: `x-htbase-egress` carries the code for every answer the proxy makes
 * itself; `x-htbase-blocked` is set only when the guard refused the target (the browser engine looks for it).
 */
export function refusalHeaders(r: { status: number; code: string }): Record<string, string> {
  return r.status === 403 ? { 'x-htbase-egress': r.code, 'x-htbase-blocked': r.code } : { 'x-htbase-egress': r.code };
}

export function writeRawResponse(
  socket: Duplex,
  status: number,
  reason: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  for (const [k, v] of Object.entries(extra)) head.push(`${k}: ${v}`);
  // Close our side as soon as the answer is flushed: a client that keeps a refused tunnel half-open would
  // otherwise hold one of its few per-proxy sockets (Chromium: 32) for seconds, stalling the whole page.
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

// The monolith stand-in's network: every request goes through the proxy from the environment (absolute-URI GET
// for http, CONNECT then TLS for https), as monolith's reqwest client does; redirects and -t per exchange.
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';

function proxyFor(url) {
  const env = process.env;
  const raw =
    url.protocol === 'https:'
      ? env.https_proxy || env.HTTPS_PROXY || env.all_proxy || env.ALL_PROXY
      : env.http_proxy || env.HTTP_PROXY || env.all_proxy || env.ALL_PROXY;
  if (!raw) return null;
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (
    noProxy.includes('*') ||
    noProxy.some((d) => url.hostname === d || url.hostname.endsWith(`.${d.replace(/^\./, '')}`))
  )
    return null;
  return new URL(raw);
}

// -C <file>: a Netscape cookies.txt; each request carries the cookies that domain-match (RFC 6265: the exact host
// for host-only lines, the domain and its subdomains for TRUE/leading-dot lines), path-match and fit its scheme.
let jar = null;
function cookieHeader(url, file) {
  if (!file) return '';
  jar ??= readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.replace(/^#HttpOnly_/, ''))
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split('\t'))
    .filter((f) => f.length === 7)
    .map(([domain, sub, path, secure, expires, name, value]) => ({
      domain: domain.toLowerCase().replace(/^\./, ''),
      subdomains: sub === 'TRUE' || domain.startsWith('.'),
      path,
      secure: secure === 'TRUE',
      expires: Number(expires),
      name,
      value,
    }));
  const host = url.hostname.toLowerCase();
  const now = Date.now() / 1000;
  return jar
    .filter((c) => host === c.domain || (c.subdomains && host.endsWith(`.${c.domain}`)))
    .filter((c) => url.pathname.startsWith(c.path) && (!c.secure || url.protocol === 'https:'))
    .filter((c) => c.expires === 0 || c.expires > now)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

function requestOnce(url, opts) {
  return new Promise((resolve, reject) => {
    const proxy = proxyFor(url);
    const headers = { 'user-agent': opts.userAgent, accept: '*/*' };
    if (opts.referer) headers.referer = opts.referer;
    const cookie = cookieHeader(url, opts.cookie_file);
    if (cookie) headers.cookie = cookie;
    const port = url.port || (url.protocol === 'https:' ? 443 : 80);
    const onResponse = (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          statusText: res.statusMessage,
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    };
    let req;
    if (url.protocol === 'http:' && proxy) {
      // Absolute-form request line: the proxy, not us, resolves and connects.
      req = http.request(
        {
          host: proxy.hostname,
          port: proxy.port || 80,
          method: 'GET',
          path: url.href,
          headers: { ...headers, host: url.host },
          agent: false,
        },
        onResponse,
      );
    } else if (url.protocol === 'https:' && proxy) {
      req = http.request({
        host: proxy.hostname,
        port: proxy.port || 80,
        method: 'CONNECT',
        path: `${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${port}`,
        headers: { host: `${url.hostname}:${port}` },
        agent: false,
      });
      req.on('connect', (res, socket) => {
        if (res.statusCode !== 200) {
          socket.destroy();
          reject(new Error(`proxy refused CONNECT (${res.statusCode})`));
          return;
        }
        const tlsSocket = tls.connect({ socket, servername: url.hostname, rejectUnauthorized: !opts.insecure });
        const inner = https.request(
          {
            createConnection: () => tlsSocket,
            method: 'GET',
            path: `${url.pathname}${url.search}`,
            headers: { ...headers, host: url.host },
          },
          onResponse,
        );
        inner.on('error', reject);
        inner.end();
      });
    } else {
      const mod = url.protocol === 'https:' ? https : http;
      req = mod.request(url, { method: 'GET', headers, agent: false, rejectUnauthorized: !opts.insecure }, onResponse);
    }
    req.setTimeout(opts.timeoutSec * 1000, () => req.destroy(new Error('operation timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** GET with redirects (each hop through the proxy again) and the -t timeout over the whole exchange. */
async function fetchAsset(rawUrl, opts) {
  let url = new URL(rawUrl);
  const deadline = Date.now() + opts.timeoutSec * 1000;
  for (let hop = 0; hop <= 10; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`unsupported scheme ${url.protocol}`);
    const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    const res = await requestOnce(url, { ...opts, timeoutSec: remaining });
    if ([301, 302, 303, 307, 308].includes(res.status) && res.headers.location) {
      url = new URL(res.headers.location, url);
      continue;
    }
    return { ...res, finalUrl: url };
  }
  throw new Error('too many redirects');
}

export function info(opts, message) {
  if (!opts.quiet) process.stderr.write(`${message}\n`);
}

export async function retrieve(rawUrl, opts, parentUrl) {
  const key = rawUrl.split('#')[0];
  try {
    const res = await fetchAsset(rawUrl, { ...opts, referer: parentUrl });
    if (!opts.ignore_errors && res.status !== 200) {
      info(opts, `${key} (${res.status} ${res.statusText})`);
      return null;
    }
    info(opts, res.finalUrl.href === key ? key : `${key} -> ${res.finalUrl.href}`);
    const [mediaType = '', ...params] = String(res.headers['content-type'] ?? '')
      .split(';')
      .map((s) => s.trim());
    const charset = params.find((p) => /^charset=/i.test(p))?.split('=')[1] ?? '';
    return { data: res.body, finalUrl: res.finalUrl, mediaType: mediaType.toLowerCase(), charset };
  } catch (err) {
    info(opts, `${key} (${err.message})`);
    return null;
  }
}

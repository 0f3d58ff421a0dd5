// The one URL guard: every user-supplied URL, redirect and subresource passes here.
// Only http(s); the host is resolved and every address checked; callers connect to the checked address.
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import { PermanentError } from '../core/errors.ts';

export interface GuardOptions {
  /** Allow loopback and private targets: local development and tests only, never a default. */
  allowPrivateNetworks: boolean;
  /** Resolver, replaceable in tests (e.g. a name that resolves to 127.0.0.1). */
  resolve?: (host: string) => Promise<string[]>;
}

export interface CheckedTarget {
  url: URL;
  /** The addresses that passed the check; connect to one of these, not to a new lookup. */
  addresses: string[];
}

const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this" network, unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  blocked.addSubnet(net, prefix, 'ipv6');

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

const METADATA_NAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** The IPv4 address embedded in an IPv4-mapped, IPv4-compatible or NAT64 IPv6 address, if any. */
function embeddedIPv4(ip6: string): string | null {
  const lower = ip6.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return dotted[1]!;
  const hex = /^(?:::ffff:|::|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const hi = parseInt(hex[1]!, 16);
    const lo = parseInt(hex[2]!, 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

/** True for every address a capture must never reach (unless private networks are allowed). */
export function isBlockedAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return blocked.check(ip, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIPv4(ip);
    if (v4) return true; // mapped/compatible/NAT64 forms are never needed for public targets
    return blocked.check(ip, 'ipv6');
  }
  return true;
}

/** Metadata addresses stay blocked even when private networks are allowed. */
export function isMetadataAddress(ip: string): boolean {
  const v4 = isIP(ip) === 6 ? embeddedIPv4(ip) : ip;
  return v4 === '169.254.169.254' || ip.toLowerCase() === 'fd00:ec2::254';
}

export function isLoopbackAddress(ip: string): boolean {
  const family = isIP(ip);
  return family === 4 ? loopback.check(ip, 'ipv4') : family === 6 ? loopback.check(ip, 'ipv6') : false;
}

function blockedName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return METADATA_NAMES.has(h) || h.endsWith('.internal') || h === 'localhost' || h.endsWith('.localhost');
}

async function defaultResolve(host: string): Promise<string[]> {
  const res = await dnsLookup(host, { all: true, verbatim: true });
  return res.map((r) => r.address);
}

/**
 * A resolver that shares one lookup among concurrent callers for the same name and remembers answers
 * (failures included) for `ttlMs`. A page asks for the same few hosts hundreds of times at once; without
 * this each request waits on its own lookup, and a slow resolver stalls the whole capture.
 */
export function cachingResolver(
  ttlMs = 30_000,
  resolve: (host: string) => Promise<string[]> = defaultResolve,
): (host: string) => Promise<string[]> {
  const cache = new Map<string, { at: number; result: Promise<string[]> }>();
  return (host) => {
    const key = host.toLowerCase();
    const now = Date.now();
    const hit = cache.get(key);
    if (hit && now - hit.at < ttlMs) return hit.result;
    const result = resolve(key);
    cache.set(key, { at: now, result });
    if (cache.size > 5000) cache.delete(cache.keys().next().value!);
    return result;
  };
}

/** Parses a user-supplied URL without resolving it; throws PermanentError('invalid_url'|'blocked_url'). */
export function parseTargetUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PermanentError('invalid_url', 'not a valid absolute URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PermanentError(
      'unsupported_scheme',
      `only http and https URLs can be archived, not ${url.protocol.replace(':', '')}`,
    );
  }
  if (url.username || url.password) throw new PermanentError('invalid_url', 'URLs with credentials are not accepted');
  if (!url.hostname) throw new PermanentError('invalid_url', 'the URL has no host');
  return url;
}

/** Checks one host name or literal address; returns the addresses that passed. */
export async function checkHost(hostname: string, opts: GuardOptions): Promise<string[]> {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (!opts.allowPrivateNetworks && blockedName(host)) {
    throw new PermanentError('blocked_address', `the host ${host} is not allowed`);
  }
  if (blockedName(host) && METADATA_NAMES.has(host.toLowerCase())) {
    throw new PermanentError('blocked_address', `the host ${host} is not allowed`);
  }
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = await (opts.resolve ?? defaultResolve)(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTFOUND' || code === 'ENODATA')
        throw new PermanentError('dns_not_found', `the host ${host} does not resolve`);
      throw err; // a resolver hiccup: transient
    }
  }
  if (addresses.length === 0) throw new PermanentError('dns_not_found', `the host ${host} does not resolve`);
  for (const a of addresses) {
    if (isMetadataAddress(a) || (!opts.allowPrivateNetworks && isBlockedAddress(a))) {
      throw new PermanentError('blocked_address', `the host ${host} resolves to an address that is not allowed`);
    }
  }
  return addresses;
}

/** The full check for a URL: scheme, credentials, resolution, every resolved address. */
export async function checkUrl(raw: string | URL, opts: GuardOptions): Promise<CheckedTarget> {
  const url = typeof raw === 'string' ? parseTargetUrl(raw) : parseTargetUrl(raw.href);
  const addresses = await checkHost(url.hostname, opts);
  return { url, addresses };
}

/**
 * A `lookup` for net/http agents that resolves, checks, and hands back only checked addresses, so the
 * connection goes to the address that was checked (no DNS rebinding between check and connect).
 */
export function guardedLookup(opts: GuardOptions) {
  return (
    hostname: string,
    options: { all?: boolean; family?: number } | number | undefined,
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | { address: string; family: number }[],
      family?: number,
    ) => void,
  ): void => {
    checkHost(hostname, opts).then(
      (addresses) => {
        const all = typeof options === 'object' && options?.all;
        if (all)
          callback(
            null,
            addresses.map((a) => ({ address: a, family: isIP(a) })),
          );
        else callback(null, addresses[0]!, isIP(addresses[0]!));
      },
      (err) => {
        callback(err as NodeJS.ErrnoException, '', 4);
      },
    );
  };
}

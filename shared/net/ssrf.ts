// The one URL guard: every user-supplied URL, redirect and subresource passes here.
// Only http(s); the host is resolved and every address checked; callers connect to the checked address.
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
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

/** CIDR strings parsed once; a table of ranges is the policy, readable and auditable in one place. */
function ranges(list: readonly string[]): Array<[ipaddr.IPv4 | ipaddr.IPv6, number]> {
  return list.map((c) => ipaddr.parseCIDR(c));
}

const BLOCKED_V4 = ranges([
  '0.0.0.0/8', // "this" network, unspecified
  '10.0.0.0/8',
  '100.64.0.0/10', // CGNAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
]);

// The IPv4-in-IPv6 prefixes are refused whole, whatever they embed. Mapped, translated and compatible forms are
// never what a public name resolves to. NAT64 only matters on IPv6-only networks with DNS64, where no deployment of
// ours runs (and local-use NAT64 is private by definition). 6to4 and Teredo are deprecated (RFC 7526, relays shut
// down): the packet would leave through a relay we do not control that decapsulates it towards the embedded IPv4,
// and which embedded field it uses (Teredo carries a server and a client address) is the relay's choice. Refusing
// the whole prefix costs no public site and leaves nothing to get wrong. The embedded IPv4 is still checked below,
// which is what keeps metadata refused when private networks are allowed.
const BLOCKED_V6 = ranges([
  '::/128', // unspecified
  '::1/128', // loopback
  '::/96', // IPv4-compatible (deprecated)
  '::ffff:0:0/96', // IPv4-mapped
  '::ffff:0:0:0/96', // IPv4-translated (SIIT, RFC 6145)
  '64:ff9b::/96', // NAT64 well-known prefix (RFC 6052)
  '64:ff9b:1::/48', // NAT64 local-use prefixes (RFC 8215)
  '100::/64', // discard
  '2001::/32', // Teredo
  '2001:db8::/32', // documentation
  '2002::/16', // 6to4
  'fc00::/7', // unique local
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated)
  'ff00::/8', // multicast
]);

const LOOPBACK = ranges(['127.0.0.0/8', '::1/128']);

// Metadata stays refused even with private networks allowed: GCP's and AWS's IPv4 and IPv6 endpoints.
const METADATA_V4 = ranges(['169.254.169.254/32']);
const METADATA_V6 = ranges(['fd20:ce::254/128', 'fd00:ec2::254/128']);

const METADATA_NAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * Parses an address in any valid spelling (case, leading zeros, compressed or not, dotted IPv4 tail, zone index);
 * null for anything else. node:net's isIP is the gate because it is strict about IPv4 (four decimal parts), so
 * an address list never smuggles a legacy form past us; host names get those read by `legacyIPv4`.
 */
function parseAddress(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const family = isIP(ip);
  if (family === 4) return ipaddr.IPv4.parse(ip);
  if (family === 6) {
    try {
      return ipaddr.IPv6.parse(ip);
    } catch {
      return null; // node accepted a form ipaddr.js does not: treat it as not an address (refused)
    }
  }
  return null;
}

/** Where an IPv4-in-IPv6 format keeps its IPv4: four byte positions, bit-inverted for Teredo's client. */
interface V4Field {
  bytes: readonly number[];
  invert?: boolean;
}
const LAST_32: V4Field = { bytes: [12, 13, 14, 15] };

// Mapped, translated, compatible and NAT64 /96 keep it in the last 32 bits; NAT64 local-use at the operator's
// choice of RFC 6052 prefix length (/48 and /56 skip bits 64-71, the "u" octet), so every length is a candidate;
// 6to4 in bits 16-47; Teredo the server in bits 32-63 and the client in the bit-inverted last 32 bits.
const EMBEDDINGS: Array<{ prefix: [ipaddr.IPv6, number]; fields: readonly V4Field[] }> = (
  [
    ['::/96', [LAST_32]],
    ['::ffff:0:0/96', [LAST_32]],
    ['::ffff:0:0:0/96', [LAST_32]],
    ['64:ff9b::/96', [LAST_32]],
    ['64:ff9b:1::/48', [{ bytes: [6, 7, 9, 10] }, { bytes: [7, 9, 10, 11] }, { bytes: [9, 10, 11, 12] }, LAST_32]],
    ['2002::/16', [{ bytes: [2, 3, 4, 5] }]],
    ['2001::/32', [{ bytes: [4, 5, 6, 7] }, { ...LAST_32, invert: true }]],
  ] as const
).map(([cidr, fields]) => ({ prefix: ipaddr.IPv6.parseCIDR(cidr), fields }));

/** Every IPv4 address an IPv6 address carries in a transition format (none for a plain IPv6 address). */
function embeddedIPv4s(a: ipaddr.IPv6): ipaddr.IPv4[] {
  const bytes = a.toByteArray();
  const format = EMBEDDINGS.find((e) => a.match(e.prefix));
  return (format?.fields ?? []).map(
    (f) => new ipaddr.IPv4(f.bytes.map((i) => (f.invert ? ~bytes[i]! & 255 : bytes[i]!))),
  );
}

function inAny(a: ipaddr.IPv4 | ipaddr.IPv6, list: Array<[ipaddr.IPv4 | ipaddr.IPv6, number]>): boolean {
  return list.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
}

/** True for every address a capture must never reach (unless private networks are allowed). */
export function isBlockedAddress(ip: string): boolean {
  const a = parseAddress(ip);
  if (!a) return true;
  if (a.kind() === 'ipv4') return inAny(a, BLOCKED_V4);
  return inAny(a, BLOCKED_V6) || embeddedIPv4s(a as ipaddr.IPv6).some((v4) => inAny(v4, BLOCKED_V4));
}

/** Metadata addresses stay blocked even when private networks are allowed, whatever IPv6 form carries them. */
export function isMetadataAddress(ip: string): boolean {
  const a = parseAddress(ip);
  if (!a) return false;
  if (a.kind() === 'ipv4') return inAny(a, METADATA_V4);
  return inAny(a, METADATA_V6) || embeddedIPv4s(a as ipaddr.IPv6).some((v4) => inAny(v4, METADATA_V4));
}

export function isLoopbackAddress(ip: string): boolean {
  const a = parseAddress(ip);
  if (!a) return false;
  if (a.kind() === 'ipv6' && (a as ipaddr.IPv6).isIPv4MappedAddress())
    return inAny((a as ipaddr.IPv6).toIPv4Address(), LOOPBACK);
  return inAny(a, LOOPBACK);
}

/**
 * A host that is an IPv4 literal in a legacy form (octal or hex parts, fewer than four parts, one 32-bit number)
 * as the dotted quad it means; null otherwise. new URL() already rewrites these, but a raw CONNECT authority
 * reaches the guard as the client wrote it, and inet_aton-style resolvers would connect to what it spells.
 */
function legacyIPv4(host: string): string | null {
  if (isIP(host) || !ipaddr.IPv4.isValid(host)) return null;
  try {
    return ipaddr.IPv4.parse(host).toString();
  } catch {
    return null;
  }
}

/** Lowercase, without the trailing dots that make a name fully qualified (`metadata.google.internal.`). */
function normalizeName(host: string): string {
  return host.toLowerCase().replace(/\.+$/, '');
}

function isMetadataName(host: string): boolean {
  const h = normalizeName(host);
  return METADATA_NAMES.has(h) || h.endsWith('.metadata.google.internal');
}

function blockedName(host: string): boolean {
  const h = normalizeName(host);
  return isMetadataName(h) || h.endsWith('.internal') || h === 'localhost' || h.endsWith('.localhost');
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
  if (isMetadataName(host)) {
    throw new PermanentError('blocked_address', `the host ${host} is not allowed`);
  }
  let addresses: string[];
  const legacy = legacyIPv4(host);
  if (isIP(host)) addresses = [host];
  else if (legacy) addresses = [legacy];
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
    // An answer that is not an address at all is refused in both modes: there is nothing to check it against.
    if (!parseAddress(a) || isMetadataAddress(a) || (!opts.allowPrivateNetworks && isBlockedAddress(a))) {
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

// The SSRF guard (shared/net/ssrf.ts) decides by address ranges, not strings (issue 16): every embedded IPv4
// (mapped, translated, compatible, NAT64, 6to4, Teredo) is unwrapped, every spelling parses to the same address,
// and metadata stays refused with private networks allowed. Pure checks plus CONNECT through the egress proxy.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { checkHost, checkUrl, isBlockedAddress, isMetadataAddress, type GuardOptions } from '../../shared/net/ssrf.ts';
import { startEgressProxy, type EgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';

/** A resolver that plays a public name whose DNS answer is whatever the test needs. */
function resolverFor(answers: Record<string, string[]>): (host: string) => Promise<string[]> {
  return async (host) => {
    const a = answers[host];
    if (a) return a;
    throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  };
}

const PUBLIC = ['93.184.215.14'];
const strict: GuardOptions = { allowPrivateNetworks: false, resolve: resolverFor({}) };
const relaxed: GuardOptions = { allowPrivateNetworks: true, resolve: resolverFor({}) };

async function refused(host: string, opts: GuardOptions): Promise<void> {
  await assert.rejects(checkHost(host, opts), { code: 'blocked_address' }, `${host} should be refused`);
}

// Loopback 127.0.0.1, private 10.0.0.1 and metadata 169.254.169.254 inside each IPv6 transition format.
const LOOPBACK_WRAPPED = {
  'NAT64 well-known, uncompressed': '64:ff9b:0:0:0:0:7f00:1',
  'NAT64 local-use, /96 embedding': '64:ff9b:1::7f00:1',
  'NAT64 local-use, /48 embedding': '64:ff9b:1:7f00:0:100::',
  '6to4 of 127.0.0.1': '2002:7f00:1::1',
  '6to4 of 10.0.0.1': '2002:a00:1::',
  'Teredo, client 127.0.0.1 (bit-inverted)': '2001:0:4136:e378:8000:63bf:80ff:fffe',
  'Teredo, client 10.0.0.1 (bit-inverted)': '2001:0:4136:e378:8000:63bf:f5ff:fffe',
  'IPv4-translated (SIIT) ::ffff:0:0/96': '::ffff:0:7f00:1',
};
const METADATA_WRAPPED = {
  'GCP IPv6 metadata': 'fd20:ce::254',
  'GCP IPv6 metadata, uppercase': 'FD20:CE::254',
  'GCP IPv6 metadata, uncompressed with leading zeros': 'fd20:00ce:0000:0000:0000:0000:0000:0254',
  'AWS IPv6 metadata': 'fd00:ec2::254',
  'IPv4-mapped, uncompressed hex': '0:0:0:0:0:ffff:a9fe:a9fe',
  'IPv4-mapped, uppercase hex': '::FFFF:A9FE:A9FE',
  'IPv4-translated': '::ffff:0:a9fe:a9fe',
  'IPv4-compatible': '::a9fe:a9fe',
  'NAT64 well-known, dotted': '64:ff9b::169.254.169.254',
  'NAT64 well-known, uncompressed': '64:ff9b:0:0:0:0:a9fe:a9fe',
  'NAT64 local-use': '64:ff9b:1::a9fe:a9fe',
  '6to4': '2002:a9fe:a9fe::1',
  'Teredo client (bit-inverted)': '2001:0:4136:e378:8000:63bf:5601:5601',
};

describe('private networks refused: IPv6 forms that embed a blocked IPv4 are refused', () => {
  for (const [name, ip] of Object.entries(LOOPBACK_WRAPPED)) {
    test(`${name}: ${ip}`, async () => {
      assert.equal(isBlockedAddress(ip), true);
      await refused(ip, strict);
      await refused(`[${ip}]`, strict);
      await refused('inside.test', { allowPrivateNetworks: false, resolve: resolverFor({ 'inside.test': [ip] }) });
      await assert.rejects(checkUrl(`http://[${ip}]/`, strict), { code: 'blocked_address' });
    });
  }

  test('6to4 and Teredo are refused whole, even around a public IPv4 (deprecated relays, never needed)', async () => {
    for (const ip of ['2002:808:808::1', '2001:0:4136:e378:8000:63bf:f7f7:f7f7']) {
      assert.equal(isBlockedAddress(ip), true, ip);
      await refused(ip, strict);
    }
  });

  test('public addresses still pass, including neighbours of the blocked prefixes', async () => {
    for (const ip of ['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '2001:4860:4860::8888', '2003::1']) {
      assert.equal(isBlockedAddress(ip), false, ip);
      assert.deepEqual(await checkHost(ip, strict), [ip]);
    }
    const opts: GuardOptions = { allowPrivateNetworks: false, resolve: resolverFor({ 'example.test': PUBLIC }) };
    assert.deepEqual((await checkUrl('https://example.test/a', opts)).addresses, PUBLIC);
  });

  test('what is not an address at all is refused, not waved through', () => {
    for (const s of ['', 'not-an-ip', '1.2.3.4.5', '::ffff:127.000.000.001', '12345::1']) {
      assert.equal(isBlockedAddress(s), true, s);
    }
  });
});

describe('private networks refused: every spelling of a blocked address is refused', () => {
  // A raw CONNECT carries the host exactly as the client wrote it; the guard must parse, not compare.
  const RAW_SPELLINGS = [
    '0:0:0:0:0:ffff:7f00:1',
    '[::ffff:127.0.0.1]',
    '::FFFF:7F00:1',
    '0000:0000:0000:0000:0000:ffff:7f00:0001',
    '0:0:0:0:0:0:0:1',
    '0000:0000:0000:0000:0000:0000:0000:0001',
    '::127.0.0.1',
    'FE80::1',
    'fe80:0000::0001',
    'FD00::1',
    'Fc00:0::1',
  ];
  for (const host of RAW_SPELLINGS) test(`raw host ${host}`, () => refused(host, strict));

  test('legacy IPv4 forms in a raw host are read as the address they spell, never sent to DNS', async () => {
    // A resolver that answers every name with a public address: only parsing the literal can refuse these.
    const lenient: GuardOptions = { allowPrivateNetworks: false, resolve: async () => PUBLIC };
    for (const host of ['0177.0.0.1', '2130706433', '0x7f.1', '127.1', '0x7f000001', '012.0.0.1', '0xa9.254.169.254']) {
      await refused(host, lenient);
    }
    assert.deepEqual(
      await checkHost('0x5d.0270.0xd70e', lenient),
      ['93.184.215.14'],
      'the checked address is returned',
    );
  });

  test('URL hosts: new URL() normalises IPv4 and IPv6 spellings, and the guard refuses the result', async () => {
    const cases: Array<[string, string]> = [
      ['http://0177.0.0.1/', '127.0.0.1'],
      ['http://2130706433/', '127.0.0.1'],
      ['http://0x7f.1/', '127.0.0.1'],
      ['http://127.1/', '127.0.0.1'],
      ['http://[0:0:0:0:0:ffff:7f00:1]/', '[::ffff:7f00:1]'],
      ['http://[::ffff:127.0.0.1]/', '[::ffff:7f00:1]'],
      ['http://[::FFFF:7F00:0001]/', '[::ffff:7f00:1]'],
      ['http://[::127.0.0.1]/', '[::7f00:1]'],
      ['http://[64:ff9b:0:0:0:0:7f00:1]/', '[64:ff9b::7f00:1]'],
      ['http://[::ffff:0:127.0.0.1]/', '[::ffff:0:7f00:1]'],
    ];
    for (const [raw, hostname] of cases) {
      assert.equal(new URL(raw).hostname, hostname, raw);
      await assert.rejects(checkUrl(raw, strict), { code: 'blocked_address' }, raw);
    }
  });
});

describe('private networks allowed (development): metadata stays refused in every form', () => {
  for (const [name, ip] of Object.entries(METADATA_WRAPPED)) {
    test(`${name}: ${ip}`, async () => {
      assert.equal(isMetadataAddress(ip), true);
      await refused(ip, relaxed);
      await refused(`[${ip}]`, relaxed);
      await refused('sneaky.test', { allowPrivateNetworks: true, resolve: resolverFor({ 'sneaky.test': [ip] }) });
    });
  }

  test('legacy IPv4 spellings of 169.254.169.254, raw and in URLs', async () => {
    for (const host of ['0251.0376.0251.0376', '2852039166', '0xa9fea9fe', '169.254.43518']) {
      await refused(host, { allowPrivateNetworks: true, resolve: async () => ['127.0.0.1'] });
      await assert.rejects(checkUrl(`http://${host}/`, relaxed), { code: 'blocked_address' }, host);
    }
  });

  test('metadata names in every spelling, without asking DNS', async () => {
    const opts: GuardOptions = { allowPrivateNetworks: true, resolve: async () => ['127.0.0.1'] };
    for (const host of [
      'metadata.google.internal',
      'metadata.google.internal.',
      'METADATA.GOOGLE.INTERNAL',
      'Metadata.Google.Internal..',
      'x.metadata.google.internal',
      'metadata.goog',
    ]) {
      await refused(host, opts);
    }
    await assert.rejects(checkUrl('http://metadata.google.internal./computeMetadata/v1/', opts), {
      code: 'blocked_address',
    });
  });

  test('loopback, private and link-local outside metadata are allowed, as local development needs', async () => {
    for (const ip of ['127.0.0.1', '::1', '10.0.0.1', 'fd00::1', 'fd20:ce::253', '::ffff:127.0.0.1', '169.254.1.1']) {
      assert.equal(isMetadataAddress(ip), false, ip);
      assert.deepEqual(await checkHost(ip, relaxed), [ip]);
    }
  });
});

/** Sends one CONNECT through the proxy and resolves with the status code. */
function connectStatus(proxy: EgressProxy, target: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: target, agent: false });
    req.setTimeout(5000, () => req.destroy(new Error('test CONNECT timed out')));
    req.on('connect', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the egress proxy applies the same range checks to raw CONNECT authorities', () => {
  const proxies: EgressProxy[] = [];
  before(async () => {
    for (const allowPrivateNetworks of [false, true]) {
      proxies.push(await startEgressProxy({ allowPrivateNetworks, logger: silentLogger(), resolve: resolverFor({}) }));
    }
  });
  after(async () => {
    for (const p of proxies) await p.close();
  });

  test('private networks refused', async () => {
    for (const t of ['[::ffff:0:7f00:1]:80', '[64:ff9b:1::7f00:1]:80', '[2002:7f00:1::1]:443', '0177.0.0.1:80']) {
      assert.equal(await connectStatus(proxies[0]!, t), 403, t);
    }
  });

  test('private networks allowed: metadata by any spelling', async () => {
    for (const t of [
      '[0:0:0:0:0:ffff:a9fe:a9fe]:80',
      '[FD20:CE::254]:80',
      '[fd20:ce:0:0:0:0:0:254]:80',
      'metadata.google.internal.:443',
      '2852039166:80',
    ]) {
      assert.equal(await connectStatus(proxies[1]!, t), 403, t);
    }
  });
});

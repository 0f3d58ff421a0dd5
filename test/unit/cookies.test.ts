// Cookie files and cookie rules without a server: Netscape and JSON parsing, RFC 6265 domain matching, the
// cookies.txt monolith gets back, and the vault (AES-256-GCM bound to user and domain; a 0600 key file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  candidateDomains,
  domainMatches,
  parseCookieFile,
  parseNetscape,
  toNetscape,
} from '../../shared/cookies/parse.ts';
import { createVault, loadOrCreateKeyFile, parseKey } from '../../shared/cookies/vault.ts';
import { CookieInputError } from '../../shared/cookies/types.ts';

test('cookies.txt: host-only and domain lines, #HttpOnly_, session expiry, bad lines reported', () => {
  const p = parseNetscape(
    [
      '# Netscape HTTP Cookie File',
      'www.example.com\tFALSE\t/\tTRUE\t1900000000\tsid\tabc',
      '#HttpOnly_.example.com\tTRUE\t/app\tFALSE\t0\ttoken\txyz',
      'broken line',
      '',
    ].join('\n'),
  );
  assert.equal(p.cookies.length, 2);
  assert.deepEqual(p.cookies[0], {
    name: 'sid',
    value: 'abc',
    domain: 'www.example.com',
    hostOnly: true,
    path: '/',
    secure: true,
    httpOnly: false,
    expires: 1900000000,
  });
  assert.equal(p.cookies[1]!.hostOnly, false);
  assert.equal(p.cookies[1]!.httpOnly, true);
  assert.equal(p.cookies[1]!.expires, null);
  assert.deepEqual(p.rejected, [{ at: 4, reason: 'expected 7 tab-separated fields, found 1' }]);
  // What monolith receives parses back to the same cookies.
  assert.deepEqual(parseNetscape(toNetscape(p.cookies)).cookies, p.cookies);
});

test('JSON exports (Cookie-Editor style) and the errors of a file that is no cookie file', () => {
  const p = parseCookieFile(
    JSON.stringify([
      { name: 'a', value: '1', domain: '.news.example', hostOnly: false, path: '/', sameSite: 'no_restriction' },
      { name: 'b', value: '2', domain: 'com' },
    ]),
  );
  assert.equal(p.format, 'json');
  assert.equal(p.cookies[0]!.sameSite, 'None');
  assert.equal(p.rejected[0]!.reason, 'a cookie for a whole TLD');
  assert.throws(() => parseCookieFile('{"nope": 1}'), CookieInputError);
  assert.throws(() => parseCookieFile('# only a comment\n'), /holds no cookie/);
  assert.throws(() => parseCookieFile('[{"name": "x", "value": "a;b", "domain": "a.example"}]'), /semicolon/);
});

test('domain matching follows RFC 6265: host-only exact, domain cookies to subdomains, never to look-alikes', () => {
  const dom = { domain: 'example.com', hostOnly: false };
  const host = { domain: 'example.com', hostOnly: true };
  assert.ok(domainMatches('example.com', dom));
  assert.ok(domainMatches('www.example.com', dom));
  assert.ok(!domainMatches('badexample.com', dom));
  assert.ok(!domainMatches('example.com.evil.net', dom));
  assert.ok(domainMatches('EXAMPLE.com', host));
  assert.ok(!domainMatches('www.example.com', host));
  assert.ok(!domainMatches('127.0.0.2', { domain: '127.0.0.1', hostOnly: false }));
  assert.deepEqual(candidateDomains('a.b.example.com'), ['a.b.example.com', 'b.example.com', 'example.com', 'com']);
  assert.deepEqual(candidateDomains('127.0.0.1'), ['127.0.0.1']);
});

test('the vault: round trip, bound to user and domain, tamper-evident; the key file is 0600 and refused when not', async () => {
  const v = createVault(randomBytes(32));
  const sealed = v.seal(Buffer.from('secret'), 'u1:example.com');
  assert.ok(!sealed.includes(Buffer.from('secret')));
  assert.equal(v.open(sealed, 'u1:example.com').toString(), 'secret');
  assert.throws(() => v.open(sealed, 'u2:example.com'), /cannot be decrypted/);
  const flipped = Buffer.from(sealed);
  flipped[flipped.length - 1]! ^= 1;
  assert.throws(() => v.open(flipped, 'u1:example.com'), /cannot be decrypted/);
  assert.throws(() => parseKey('c2hvcnQ='), /32 bytes/);

  const dir = await mkdtemp(join(tmpdir(), 'htbase-key-'));
  try {
    const path = join(dir, 'cookies.key');
    const k1 = await loadOrCreateKeyFile(path);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await loadOrCreateKeyFile(path), k1, 'the same key on the next start');
    await chmod(path, 0o644);
    await assert.rejects(loadOrCreateKeyFile(path), /readable by others/);
    const other = join(dir, 'other.key');
    await writeFile(other, 'not a key', { mode: 0o600 });
    await assert.rejects(loadOrCreateKeyFile(other), /32 bytes/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

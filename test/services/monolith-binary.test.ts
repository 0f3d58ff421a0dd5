// The monolith binary's problems, for runs and for the `-V` check: missing, failing without output, not
// monolith at all; and where findMonolith looks (the configured path, then PATH). Uses the stand-in.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMonolith, monolithVersion, findMonolith } from '../../containers/monolith/monolith.ts';
import { startEgressProxy, type EgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { STANDIN, expectCode, recordingSink } from './monolith-site.ts';

describe('monolith wrapper, binary problems', () => {
  let proxy: EgressProxy;
  before(async () => {
    proxy = await startEgressProxy({ allowPrivateNetworks: true, logger: silentLogger() });
  });
  after(() => proxy.close());

  test('a missing binary is monolith_unavailable, for runs and for -V', async () => {
    const missing = join(tmpdir(), 'no-such-dir', 'monolith');
    const err = await expectCode(
      runMonolith(
        {
          binary: missing,
          url: 'http://example.com/',
          proxyUrl: proxy.url,
          timeoutMs: 5000,
          maxBytes: 1000,
          logger: silentLogger(),
        },
        recordingSink().sink,
      ),
      'monolith_unavailable',
    );
    assert.match(err.message, /ENOENT/);
    await expectCode(monolithVersion(missing), 'monolith_unavailable');
  });

  test('a binary that fails without output gives a clear monolith_failed', async () => {
    const err = await expectCode(
      runMonolith(
        {
          binary: '/bin/false',
          url: 'http://example.com/',
          proxyUrl: proxy.url,
          timeoutMs: 5000,
          maxBytes: 1000,
          logger: silentLogger(),
        },
        recordingSink().sink,
      ),
      'monolith_failed',
    );
    assert.equal(err.message, 'monolith exited with code 1');
  });

  test('a binary that is not monolith fails the -V check', async () => {
    await expectCode(monolithVersion('/bin/true'), 'monolith_unavailable');
  });

  test('findMonolith honours the configured path, then PATH', async () => {
    assert.equal(await findMonolith(STANDIN, ''), STANDIN);
    assert.equal(await findMonolith('/nonexistent/monolith', '/usr/bin'), null);
    assert.equal(await findMonolith(undefined, `/nonexistent:${join(STANDIN, '..')}`), STANDIN);
  });
});

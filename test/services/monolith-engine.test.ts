// Integration tests for the monolith wrapper behind the egress proxy: capture, rendered-DOM mode, SSRF
// refusals (redirect to metadata, a name resolving to 127.0.0.1, metadata subresources), the wall-clock kill
// of the whole process group, the output cap and failure codes. They run against the stand-in
// (test/fakes/monolith-standin) and also against a real `monolith` when one is on PATH or in MONOLITH_PATH.
// The binary's own problems (missing, failing, not monolith, where it is found) are monolith-binary.test.ts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  runMonolith,
  monolithVersion,
  findMonolith,
  type MonolithRunOptions,
} from '../../containers/monolith/monolith.ts';
import { startEgressProxy, type EgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { PNG, STANDIN, expectCode, procState, recordingSink, startSite, waitGone } from './monolith-site.ts';

const realMonolith = await findMonolith(process.env.MONOLITH_PATH, process.env.PATH ?? '');
const binaries: { label: string; path: string; standin: boolean }[] = [
  { label: 'the stand-in (test/fakes/monolith-standin)', path: STANDIN, standin: true },
];
if (realMonolith) binaries.push({ label: `the real monolith at ${realMonolith}`, path: realMonolith, standin: false });
console.log(
  `monolith tests run against: ${binaries.map((b) => b.label).join(' and ')}${realMonolith ? '' : ' (no real monolith on PATH)'}`,
);

for (const bin of binaries) {
  describe(`monolith wrapper against ${bin.label}`, () => {
    let site: Awaited<ReturnType<typeof startSite>>;
    let proxy: EgressProxy;
    let work: string;
    const base = (): Omit<MonolithRunOptions, 'url'> => ({
      binary: bin.path,
      proxyUrl: proxy.url,
      timeoutMs: 20_000,
      maxBytes: 10 * 1024 * 1024,
      assetTimeoutSec: 10,
      userAgent: 'HTBase-test/1.0',
      logger: silentLogger(),
    });

    before(async () => {
      site = await startSite();
      // Loopback is the test site, so private networks are allowed here; metadata never is.
      proxy = await startEgressProxy({ allowPrivateNetworks: true, logger: silentLogger(), idleTimeoutMs: 15_000 });
      work = await mkdtemp(join(tmpdir(), 'htbase-monolith-test-'));
    });
    after(async () => {
      await proxy.close();
      site.server.closeAllConnections();
      await new Promise<void>((r) => site.server.close(() => r()));
      await rm(work, { recursive: true, force: true });
    });

    test('monolithVersion parses -V', async () => {
      const v = await monolithVersion(bin.path);
      assert.match(v, /^\d+\.\d+\.\d+/);
      if (bin.standin) assert.equal(v, '2.10.1-standin');
    });

    test('captures a page with its subresources inlined, every request through the proxy', async () => {
      const before = proxy.stats().requests;
      const { state, sink } = recordingSink();
      const res = await runMonolith({ ...base(), url: `${site.base}/page` }, sink);
      const html = state.committed!.toString('utf8');
      assert.equal(res.value.size, res.bytes);
      assert.match(html, /Captured headline/);
      assert.ok(html.includes(`data:image/png;base64,${PNG.toString('base64')}`), 'image inlined');
      assert.ok(!html.includes('src="img.png"'), 'no remote image reference left');
      assert.ok(!html.includes('changed by script'), 'JavaScript dropped by default (-j)');
      assert.match(html, /Content-Security-Policy/, 'isolated (-I)');
      assert.ok(!html.includes('egress refused'), "the proxy's refusal page was not embedded either (no -e)");
      const paths = site.hits.map((h) => h.path);
      assert.ok(paths.includes('/page') && paths.includes('/img.png') && paths.includes('/style.css'));
      assert.ok(
        site.hits.every((h) => h.userAgent === 'HTBase-test/1.0'),
        'user agent passed with -u',
      );
      assert.ok(
        proxy.stats().requests - before >= 4,
        'page, stylesheet, image and background all went through the proxy',
      );
      assert.ok(
        proxy.stats().recentRefusals.some((r) => r.target.startsWith('http://169.254.169.254/')),
        'the metadata image was refused by the proxy',
      );
    });

    test('rendered-DOM mode feeds the DOM on stdin and resolves assets against the page URL', async () => {
      const hitsBefore = site.hits.length;
      const dom =
        '<html><head><title>Rendered</title></head><body><div id="app"><p>Built by JavaScript in the browser</p><img src="../img.png"></div></body></html>';
      const { state, sink } = recordingSink();
      await runMonolith({ ...base(), url: `${site.base}/article/42`, stdinHtml: dom }, sink);
      const html = state.committed!.toString('utf8');
      assert.match(html, /Built by JavaScript in the browser/);
      assert.ok(
        html.includes(`data:image/png;base64,${PNG.toString('base64')}`),
        '../img.png resolved against the base URL and inlined',
      );
      assert.ok(html.includes(`<base href="${site.base}/article/42">`), 'base element set from -b');
      const newPaths = site.hits.slice(hitsBefore).map((h) => h.path);
      assert.ok(newPaths.includes('/img.png'));
      assert.ok(!newPaths.includes('/article/42'), 'the page itself was not fetched: the DOM came from stdin');
    });

    test('a redirect to 169.254.169.254 is refused and the capture fails monolith_failed', async () => {
      const { state, sink } = recordingSink();
      const err = await expectCode(
        runMonolith({ ...base(), url: `${site.base}/to-metadata` }, sink),
        'monolith_failed',
      );
      assert.match(err.message, /could not retrieve target document/);
      assert.equal(state.committed, null, 'nothing was committed');
      assert.ok(proxy.stats().recentRefusals.some((r) => r.target === 'http://169.254.169.254/latest/meta-data/'));
    });

    test('a host resolving to 127.0.0.1 is refused when private networks are not allowed', async () => {
      const strict = await startEgressProxy({
        allowPrivateNetworks: false,
        logger: silentLogger(),
        resolve: async () => ['127.0.0.1'],
      });
      try {
        const hitsBefore = site.hits.length;
        await expectCode(
          runMonolith(
            { ...base(), proxyUrl: strict.url, url: `http://innocent.test:${site.port}/page` },
            recordingSink().sink,
          ),
          'monolith_failed',
        );
        assert.equal(site.hits.length, hitsBefore, 'no request reached the loopback site');
        assert.ok(strict.stats().refused >= 1);
      } finally {
        await strict.close();
      }
    });

    test('a failing page gives monolith_failed with the reason, and nothing is committed', async () => {
      const { state, sink } = recordingSink();
      const err = await expectCode(runMonolith({ ...base(), url: `${site.base}/broken` }, sink), 'monolith_failed');
      assert.match(err.message, /^monolith exited with code 1: .*could not retrieve target document/i);
      assert.equal(state.committed, null);
      assert.ok(state.streamError, 'the sink saw the stream fail, not end');
    });

    test('output over the cap fails too_large and the process group is gone', async () => {
      const pidFile = join(work, `pids-big-${Date.now()}`);
      const { state, sink } = recordingSink();
      const err = await expectCode(
        runMonolith(
          {
            ...base(),
            url: `${site.base}/big`,
            maxBytes: 1024 * 1024,
            env: bin.standin ? { MONOLITH_STANDIN_TEST_SPAWN_CHILD: pidFile } : {},
          },
          sink,
        ),
        'too_large',
      );
      assert.match(err.message, /1048576-byte cap/);
      assert.equal(state.committed, null);
      if (bin.standin) {
        const [leader, grandchild] = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number) as [number, number];
        assert.equal(await waitGone(leader, 2000), null, `monolith ${leader} is gone`);
        assert.equal(await waitGone(grandchild, 2000), null, `its child ${grandchild} is gone`);
      }
    });

    test('past its wall-clock limit the whole process group is killed, children included', async () => {
      const pidFile = join(work, `pids-${Date.now()}`);
      const t0 = Date.now();
      const run = runMonolith(
        {
          ...base(),
          url: `${site.base}/hang`,
          timeoutMs: 1500,
          env: bin.standin ? { MONOLITH_STANDIN_TEST_SPAWN_CHILD: pidFile } : {},
        },
        recordingSink().sink,
      );
      let pids: [number, number] | null = null;
      if (bin.standin) {
        while (!existsSync(pidFile) && Date.now() - t0 < 1200) await new Promise((r) => setTimeout(r, 20));
        assert.ok(existsSync(pidFile), 'the stand-in wrote its pids');
        pids = readFileSync(pidFile, 'utf8').trim().split(' ').map(Number) as [number, number];
        assert.ok(pids.length === 2 && pids.every((p) => p > 0), `two pids in the file: ${pids.join(' ')}`);
        // Both are alive while the capture hangs: the test below is not vacuous.
        assert.notEqual(procState(pids[0]), null, 'monolith is running');
        assert.notEqual(procState(pids[1]), null, 'its child is running');
      }
      await expectCode(run, 'timeout');
      const took = Date.now() - t0;
      assert.ok(took >= 1400 && took < 4000, `ended after ${took} ms`);
      if (pids) {
        const [leader, grandchild] = pids;
        // The leader was reaped by us; the grandchild, reparented to init, is reaped there.
        assert.equal(await waitGone(leader, 2000), null, `monolith ${leader} is gone`);
        assert.equal(await waitGone(grandchild, 2000), null, `its child ${grandchild} is gone from /proc`);
      }
    });

    test('an aborted signal kills the run', async () => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('worker shutting down')), 300);
      await assert.rejects(
        runMonolith({ ...base(), url: `${site.base}/hang`, signal: ac.signal }, recordingSink().sink),
        /worker shutting down/,
      );
    });
  });
}

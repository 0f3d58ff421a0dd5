// monolith's per-asset cap (issue 16): monolith has no size option, so its egress proxy cuts each asset at
// MONOLITH_MAX_ASSET_BYTES; run against the stand-in (test/fakes/monolith-standin), which fetches through it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runMonolith } from '../../containers/monolith/monolith.ts';
import { startEgressProxy, type EgressProxy } from '../../shared/net/egress-proxy.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { PNG, STANDIN, recordingSink } from './monolith-site.ts';

const HUGE = 3 * 1024 * 1024;
let site: http.Server;
let origin: string;
let capped: EgressProxy;
let open: EgressProxy;

before(async () => {
  site = http.createServer((req, res) => {
    if (req.url === '/page')
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end(
          '<html><body><p>ASSET-CAP-PAGE</p><img src="/huge.png"><img src="/chunked.png"><img src="/small.png"></body></html>',
        );
    else if (req.url === '/huge.png') res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(HUGE, 1));
    else if (req.url === '/chunked.png') {
      res.writeHead(200, { 'content-type': 'image/png' }); // no Content-Length
      for (let i = 0; i < HUGE; i += 65536) res.write(Buffer.alloc(65536, 2));
      res.end();
    } else if (req.url === '/small.png') res.writeHead(200, { 'content-type': 'image/png' }).end(PNG);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
  capped = await startEgressProxy({
    allowPrivateNetworks: true,
    logger: silentLogger(),
    maxResponseBytes: 1024 * 1024,
  });
  open = await startEgressProxy({ allowPrivateNetworks: true, logger: silentLogger() });
});

after(async () => {
  await capped.close();
  await open.close();
  site.closeAllConnections();
  await new Promise((r) => site.close(r));
});

async function capture(proxyUrl: string): Promise<string> {
  const { state, sink } = recordingSink();
  await runMonolith(
    {
      binary: STANDIN,
      proxyUrl,
      url: `${origin}/page`,
      timeoutMs: 30_000,
      maxBytes: 50 * 1024 * 1024,
      assetTimeoutSec: 10,
      logger: silentLogger(),
    },
    sink,
  );
  return state.committed!.toString('utf8');
}

test('assets over the cap, declared or not, are left out; the page and small assets are kept', async () => {
  const html = await capture(capped.url);
  assert.match(html, /ASSET-CAP-PAGE/);
  assert.ok(html.includes(PNG.toString('base64')), 'the small image is inlined');
  assert.ok(html.length < HUGE, `the capped capture is ${html.length} characters`);
  // The control: without the cap the same page embeds both large images.
  const full = await capture(open.url);
  assert.ok(full.length > 2 * HUGE, `the uncapped capture is ${full.length} characters`);
});

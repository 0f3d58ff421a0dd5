// Issue 16: WebRTC must not go around the egress proxy. A page that gathers ICE candidates against a STUN server
// on a loopback UDP port is captured; the server must receive no packet at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { capturePage } from '../../containers/browser/capture.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import { serveDir, type StaticServer } from '../support/static-server.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
let site: StaticServer;
let pool: BrowserPool;
let stun: Socket;
let packets = 0;

before(async () => {
  site = await serveDir(SITE);
  pool = new BrowserPool({ logger: silentLogger() });
  stun = createSocket('udp4');
  stun.on('message', () => packets++);
  await new Promise<void>((r) => stun.bind(0, '127.0.0.1', r));
});
after(async () => {
  await pool?.close();
  await site?.close();
  stun?.close();
});

test('a page that opens WebRTC to a loopback port sends it no UDP', async () => {
  const url = `${site.origin}/hostile/webrtc.html?port=${stun.address().port}`;
  const res = await capturePage(pool, { url, formats: ['screenshot'], logger: silentLogger() });
  assert.ok(res.results.screenshot?.ok, 'the page itself is captured');
  await sleep(500); // a late STUN retransmission would land here
  assert.equal(packets, 0, `the STUN server received ${packets} packet(s)`);
});

// The API's body limit under the real Functions Framework server (its getServer, whose parsers accept 1 GB):
// an oversized or unsized body is refused from its headers, before the framework reads it.
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { bodyRefusal, limitBodies, refused } from '../../functions/api/body-limit.ts';

const LIMIT = 16 * 1024;
const seen: unknown[] = [];
let server: Server;
let port: number;
let uninstall: () => void;

before(async () => {
  uninstall = limitBodies(() => LIMIT);
  // The same wiring as functions/api/index.ts, with a handler that records what reached it.
  http('bodyLimitUnderTest', (req, res) => {
    if (refused(req, res)) return;
    seen.push(req.body);
    res.status(200).json({ ok: true });
  });
  server = getTestServer('bodyLimitUnderTest') as unknown as Server;
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  uninstall();
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

/** Sends headers and `send` bytes of the body, then waits for the answer without sending the rest. */
function post(headers: Record<string, string>, send: Buffer): Promise<{ status: number; body: any; sent: number }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/archive', headers });
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : null, sent: send.length });
        req.destroy();
      });
    });
    req.write(send);
    if (!headers['content-length'] || Number(headers['content-length']) === send.length) req.end();
  });
}

test('a body announced at 1 GB is refused after its first 64 KiB, before the framework buffers it', async () => {
  const r = await post(
    { 'content-type': 'application/json', 'content-length': String(1024 ** 3) },
    Buffer.alloc(64 * 1024, 0x20),
  );
  // The answer came while 1 GB minus 64 KiB were still unsent: nothing waited for (or buffered) the body.
  assert.equal(r.status, 400);
  assert.equal(r.body.type, 'urn:htbase:problem:body-too-large');
  assert.match(r.body.detail, /16384 bytes/);
  assert.equal(seen.length, 0, 'the function never ran with the body');
});

test('one byte over the limit is refused; at the limit it is parsed and reaches the function', async () => {
  const at = Buffer.from(JSON.stringify({ pad: 'x'.repeat(LIMIT - 10) }));
  assert.equal(at.length, LIMIT);
  const ok = await post({ 'content-type': 'application/json', 'content-length': String(at.length) }, at);
  assert.equal(ok.status, 200);
  assert.deepEqual(seen.pop(), JSON.parse(at.toString()));
  const over = Buffer.concat([at, Buffer.from(' ')]);
  const no = await post({ 'content-type': 'application/json', 'content-length': String(over.length) }, over);
  assert.equal(no.status, 400);
  assert.equal(seen.length, 0);
});

test('a chunked body (size unknown until read) is refused with 411', async () => {
  const r = await post({ 'content-type': 'application/json', 'transfer-encoding': 'chunked' }, Buffer.from('{"a":1}'));
  assert.equal(r.status, 411);
  assert.equal(r.body.type, 'urn:htbase:problem:length-required');
  assert.equal(seen.length, 0);
});

test('bodyRefusal decides from the headers alone', () => {
  assert.equal(bodyRefusal({}, 10), undefined);
  assert.equal(bodyRefusal({ 'content-length': '10' }, 10), undefined);
  assert.equal(bodyRefusal({ 'content-length': '11' }, 10)?.status, 400);
  assert.equal(bodyRefusal({ 'transfer-encoding': 'chunked' }, 10)?.status, 411);
});

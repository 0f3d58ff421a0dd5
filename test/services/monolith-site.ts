// Shared by the monolith wrapper tests: the loopback site monolith captures, a sink that commits only on a
// clean end, and the checks on process state and error codes.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { PermanentError } from '../../shared/core/errors.ts';

export const STANDIN = fileURLToPath(new URL('../fakes/monolith-standin/monolith', import.meta.url));
export const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
export const BG = Buffer.from(
  '47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b',
  'hex',
);
export const BIG = randomBytes(3 * 1024 * 1024);

interface Hit {
  path: string;
  userAgent: string | undefined;
}

/** The loopback site monolith captures. */
export async function startSite(): Promise<{ server: http.Server; port: number; hits: Hit[]; base: string }> {
  const hits: Hit[] = [];
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.push({ path, userAgent: req.headers['user-agent'] });
    const html = (body: string) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(body);
    };
    switch (path) {
      case '/page':
        return html(
          '<!doctype html><html><head><title>Page</title><link rel="stylesheet" href="/style.css"><script src="/app.js"></script></head>' +
            '<body><h1>Captured headline</h1><img src="img.png" alt="pixel"><img src="http://169.254.169.254/latest/meta-data/iam/"></body></html>',
        );
      case '/style.css':
        res.writeHead(200, { 'content-type': 'text/css' });
        return res.end('body { background: url("bg.gif") }');
      case '/img.png':
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(PNG);
      case '/bg.gif':
        res.writeHead(200, { 'content-type': 'image/gif' });
        return res.end(BG);
      case '/app.js':
        res.writeHead(200, { 'content-type': 'text/javascript' });
        return res.end('document.title = "changed by script";');
      case '/big':
        return html('<html><body><img src="/big.png"></body></html>');
      case '/big.png':
        res.writeHead(200, { 'content-type': 'image/png' });
        return res.end(BIG);
      case '/broken':
        res.writeHead(500, { 'content-type': 'text/plain' });
        return res.end('upstream exploded');
      case '/to-metadata':
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' });
        return res.end();
      case '/hang':
        return; // never answers: the capture can only end by the wrapper's wall clock
      default:
        res.writeHead(404, { 'content-type': 'text/plain' });
        return res.end('not here');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return { server, port, hits, base: `http://127.0.0.1:${port}` };
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A sink that behaves like a blob store: it only "commits" when the stream ends cleanly. */
export function recordingSink() {
  const state = { committed: null as Buffer | null, streamError: null as Error | null };
  const sink = async (s: Readable) => {
    try {
      const buf = await collect(s);
      state.committed = buf;
      return { size: buf.length };
    } catch (err) {
      state.streamError = err as Error;
      throw err;
    }
  };
  return { state, sink };
}

export function procState(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]!;
  } catch {
    return null; // gone
  }
}

export async function waitGone(pid: number, ms: number): Promise<string | null> {
  const until = Date.now() + ms;
  let state = procState(pid);
  while (state !== null && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 25));
    state = procState(pid);
  }
  return state;
}

export async function expectCode(p: Promise<unknown>, code: string): Promise<PermanentError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof PermanentError, `expected PermanentError(${code}), got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected PermanentError(${code}), but the run succeeded`);
}

// A single-process server that is safe to expose: API_KEYS_REQUIRED is enforced, a foreign Host gets 421
// (DNS rebinding), a cross-site text/plain POST is refused before anything is written, X-Forwarded-For picks no
// rate-limit bucket, and a server told to listen beyond loopback without keys refuses to start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { http, startTestEmbedded, tempDir } from '../support/embedded.ts';
import { createApiKey } from '../../shared/auth/api-keys.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

let dir: Awaited<ReturnType<typeof tempDir>>;
let app: Embedded;
let key = '';

before(async () => {
  dir = await tempDir();
  app = await startTestEmbedded(dir.path, {
    API_KEYS_REQUIRED: 'true',
    RATE_LIMIT_PER_MINUTE: '2',
    PUBLIC_URL: 'https://archive.example.org',
  });
  key = (await createApiKey(app.db.db, 'exposed test')).key;
});
after(async () => {
  await app?.close();
  await dir?.remove();
});

/** A raw request: fetch cannot set Host, and it adds an Origin of its own choosing. */
function raw(
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: string }> {
  const { port } = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const count = async () =>
  Number(
    (
      await app.db.db
        .selectFrom('articles')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

test('with API_KEYS_REQUIRED=true an anonymous request gets 401 on reads and writes', async () => {
  for (const [method, path] of [
    ['GET', '/archives'],
    ['POST', '/archive'],
    ['DELETE', '/archives/6b0f3a5e-8a4c-4c0e-9a55-3f1f1b2c3d4e'],
  ] as const) {
    const r = await http(
      app.url,
      path,
      method === 'POST' ? { method, json: { url: 'https://example.org/' } } : { method },
    );
    assert.equal(r.status, 401, `${method} ${path}`);
  }
  assert.equal((await http(app.url, '/archives', { headers: { authorization: `Bearer ${key}` } })).status, 200);
});

test('a Host the server does not answer to gets 421; its own names pass', async () => {
  const auth = { authorization: `Bearer ${key}` };
  assert.equal((await raw('GET', '/archives', { host: 'attacker.example', ...auth })).status, 421);
  assert.equal((await raw('GET', '/healthz', { host: 'attacker.example:8080' })).status, 421);
  assert.equal((await raw('GET', '/archives', { host: 'archive.example.org', ...auth })).status, 200);
  assert.equal((await raw('GET', '/archives', { host: `localhost:${new URL(app.url).port}`, ...auth })).status, 200);
});

test('a cross-origin text/plain POST is refused and creates nothing', async () => {
  const before = await count();
  const body = JSON.stringify({ url: 'https://example.org/drive-by' });
  const host = `127.0.0.1:${new URL(app.url).port}`;
  // What a form or fetch on another site can send without a CORS preflight.
  const evil = await raw(
    'POST',
    '/archive',
    {
      host,
      origin: 'https://evil.example',
      'content-type': 'text/plain',
      authorization: `Bearer ${key}`,
    },
    body,
  );
  assert.equal(evil.status, 403);
  assert.match(evil.body, /urn:htbase:problem:cross-origin/);
  // Same origin but not JSON: refused too, before the body is parsed.
  const plain = await raw(
    'POST',
    '/archive',
    { host, 'content-type': 'text/plain', authorization: `Bearer ${key}` },
    body,
  );
  assert.equal(plain.status, 415);
  const form = await raw(
    'POST',
    '/archive',
    {
      host,
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Bearer ${key}`,
    },
    'url=https://example.org/form',
  );
  assert.equal(form.status, 415);
  assert.equal(await count(), before, 'nothing was written');
});

test('requests with different X-Forwarded-For share one rate-limit bucket', async () => {
  const statuses: number[] = [];
  for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) {
    const r = await http(app.url, '/archives/6b0f3a5e-8a4c-4c0e-9a55-3f1f1b2c3d4e', {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': ip },
    });
    statuses.push(r.status);
  }
  assert.deepEqual(statuses, [404, 404, 429], 'the limit of 2 writes a minute holds across spoofed addresses');
});

test('beyond loopback without API_KEYS_REQUIRED the server refuses to start and says how to make a key', async () => {
  const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'containers/standalone/main.ts'],
      {
        env: { ...process.env, HOST: '0.0.0.0', PORT: '0', HTBASE_DATA_DIR: dir.path, API_KEYS_REQUIRED: 'false' },
        timeout: 60_000,
      },
      (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
  });
  assert.equal(code, 2);
  assert.match(stderr, /will not listen on 0\.0\.0\.0 without API keys/);
  assert.match(stderr, /htbase apikey create/);
});

test('without keys (loopback), anonymous callers with different X-Forwarded-For also share one bucket', async () => {
  const other = await tempDir();
  const open = await startTestEmbedded(other.path, { RATE_LIMIT_PER_MINUTE: '2' });
  try {
    const statuses: number[] = [];
    for (const ip of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      const r = await http(open.url, '/archives/6b0f3a5e-8a4c-4c0e-9a55-3f1f1b2c3d4e', {
        method: 'DELETE',
        headers: { 'x-forwarded-for': ip },
      });
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [404, 404, 429]);
  } finally {
    await open.close();
    await other.remove();
  }
});

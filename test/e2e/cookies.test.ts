// Logged-in capture end to end in the single process: cookies uploaded (cookies.txt and JSON), listed without
// values, deleted; a page served only with its session cookie is captured logged in by the browser and by monolith
// (the stand-in reads -C), the cookie never reaches another host the page loads from, a log line or an artifact's
// metadata, and it is stored encrypted under a 0600 key file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import { createLogger } from '../../shared/core/logger.ts';
import { FORMATS, storageKey } from '../../shared/core/formats.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const STANDIN = fileURLToPath(new URL('../fakes/monolith-standin/monolith', import.meta.url));
const SECRET = 'sess-7f3a9c-SECRET';
let dir: { path: string; remove(): Promise<void> };
let app: Embedded;
let logs = '';
let member: { server: Server; origin: string; seen: string[] };
let other: { server: Server; origin: string; seen: string[] };

/** A loopback server that records the Cookie header of every request and answers with `handle`. */
async function serve(
  host: string,
  handle: (req: IncomingMessage, origin: string) => { type: string; body: string },
): Promise<{ server: Server; origin: string; seen: string[] }> {
  const seen: string[] = [];
  let origin = '';
  const server = createServer((req, res) => {
    seen.push(`${req.url} ua=${req.headers['user-agent'] ?? ''} cookie=${req.headers.cookie ?? ''}`);
    const r = handle(req, origin);
    res.writeHead(200, { 'content-type': r.type, 'cache-control': 'no-store' });
    res.end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  origin = `http://${host}:${(server.address() as AddressInfo).port}`;
  return { server, origin, seen };
}

const PIXEL =
  '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10" fill="red"/></svg>';

before(async () => {
  // The other host the member page loads an image from: "localhost", not 127.0.0.1, so that cookie rules (which
  // ignore ports) make it a different site.
  other = await serve('localhost', () => ({ type: 'image/svg+xml', body: PIXEL }));
  member = await serve('127.0.0.1', (req) => {
    const loggedIn = (req.headers.cookie ?? '').split(/;\s*/).includes(`session=${SECRET}`);
    if (!req.url?.startsWith('/members')) return { type: 'text/plain', body: 'not found' };
    return {
      type: 'text/html; charset=utf-8',
      body: loggedIn
        ? `<!doctype html><html lang="en"><title>Members area</title><body><article><h1>Members</h1><p>MEMBER-SENTINEL Only a signed-in member sees this paragraph about the quarterly plans, the budget and the team's next steps, written out at length so readability keeps it.</p><img alt="pixel" src="${other.origin}/pixel.svg"></article></body></html>`
        : '<!doctype html><html lang="en"><title>Sign in</title><body><h1>Sign in</h1><p>LOGIN-WALL Please sign in to read this page; members only beyond this point, sorry.</p></body></html>',
    };
  });
  dir = await tempDir();
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs += chunk.toString();
      cb();
    },
  });
  app = await startTestEmbedded(
    dir.path,
    { MONOLITH_PATH: STANDIN },
    { logger: createLogger({ component: 'test', level: 'debug', destination: sink }) },
  );
});

after(async () => {
  await app?.close();
  await new Promise((r) => member?.server.close(r));
  await new Promise((r) => other?.server.close(r));
  await dir?.remove();
});

function fileForm(text: string, name = 'cookies.txt'): FormData {
  const form = new FormData();
  form.append('file', new File([text], name, { type: 'text/plain' }));
  return form;
}

test('cookies upload as cookies.txt, list without values, and the key file is made 0600 on first use', async () => {
  await assert.rejects(stat(join(dir.path, 'cookies.key')), 'no key file before the first upload');
  const txt = [
    '# Netscape HTTP Cookie File',
    `127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t${SECRET}`,
    'this line is not a cookie',
  ].join('\n');
  const r = await http(app.url, '/cookies', { method: 'POST', body: fileForm(txt) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.replaced, ['127.0.0.1']);
  assert.equal(r.body.rejected.length, 1);
  assert.equal(r.body.rejected[0].at, 3);
  assert.equal(((await stat(join(dir.path, 'cookies.key'))).mode & 0o777).toString(8), '600');

  const list = await http(app.url, '/cookies');
  assert.equal(list.status, 200);
  assert.deepEqual(
    list.body.sites.map((s: any) => [s.domain, s.cookies]),
    [['127.0.0.1', 1]],
  );
  assert.ok(!JSON.stringify(list.body).includes(SECRET), 'the list never shows a value');
  const row = await app.db.db
    .selectFrom('user_cookies' as any)
    .selectAll()
    .executeTakeFirstOrThrow();
  assert.ok(!Buffer.from((row as any).sealed).includes(SECRET), 'stored encrypted');
});

test('a JSON export is accepted, a bad file is refused, and a site can be deleted', async () => {
  const json = JSON.stringify([
    { name: 'pref', value: 'dark', domain: '.example.org', path: '/', secure: true, expirationDate: 4102444800 },
  ]);
  const r = await http(app.url, '/cookies', { method: 'POST', body: fileForm(json, 'cookies.json') });
  assert.equal(r.status, 200);
  assert.deepEqual(
    r.body.sites.map((s: any) => s.domain),
    ['127.0.0.1', 'example.org'],
  );
  const bad = await http(app.url, '/cookies', { method: 'POST', body: fileForm('{"not": "cookies"}') });
  assert.equal(bad.status, 400);
  assert.match(bad.body.type, /invalid-cookie-file/);
  const tld = await http(app.url, '/cookies', {
    method: 'POST',
    body: fileForm('.com\tTRUE\t/\tFALSE\t0\tx\ty\n'),
  });
  assert.equal(tld.status, 400);
  assert.match(tld.body.detail, /TLD/);
  assert.equal((await http(app.url, '/cookies/example.org', { method: 'DELETE' })).status, 204);
  assert.equal((await http(app.url, '/cookies/example.org', { method: 'DELETE' })).status, 404);
});

test('a page behind a session cookie is captured logged in by both engines, the cookie kept to its own host', async () => {
  const r = await http(app.url, '/archive', {
    method: 'POST',
    json: { url: `${member.origin}/members.html`, formats: ['singlefile', 'readable', 'screenshot', 'monolith'] },
  });
  assert.equal(r.status, 202);
  const a = await waitFor<any>(app.url, r.body.id, terminal, 120_000);
  assert.equal(a.status, 'complete', JSON.stringify(a.artifacts));
  const readable = await http(app.url, `/archives/${a.id}/artifacts/readable`);
  assert.match(readable.body.text, /MEMBER-SENTINEL/, 'the browser was logged in');
  assert.doesNotMatch(readable.body.text, /LOGIN-WALL/);
  const mono = await http<Buffer>(app.url, `/archives/${a.id}/artifacts/monolith`);
  assert.match(mono.body.toString('utf8'), /MEMBER-SENTINEL/, 'monolith was logged in');
  const sf = await http<Buffer>(app.url, `/archives/${a.id}/artifacts/singlefile`);
  assert.match(sf.body.toString('utf8'), /MEMBER-SENTINEL/);

  // The browser worker's content-type probe (user agent HTBase/...) asks anonymously; the engines' loads count.
  const toMember = member.seen.filter((s) => s.startsWith('/members') && !s.includes('HTBase/'));
  assert.ok(toMember.length >= 2, `both engines loaded the page: ${toMember.join(' | ')}`);
  assert.ok(
    toMember.every((s) => s.includes(`session=${SECRET}`)),
    `every load of the page carried the cookie: ${toMember.join(' | ')}`,
  );
  assert.ok(
    other.seen.some((s) => s.startsWith('/pixel.svg')),
    'the page did load from the other host',
  );
  assert.ok(
    other.seen.every((s) => !s.includes(SECRET)),
    `the cookie never went to the other host: ${other.seen.join(' | ')}`,
  );

  for (const f of [...FORMATS]) {
    const info = await app.blobs.stat(storageKey(a.id, f));
    if (info) assert.ok(!JSON.stringify(info.metadata).includes(SECRET), `${f} metadata`);
  }
  const view = await http(app.url, `/archives/${a.id}`);
  assert.ok(!JSON.stringify(view.body).includes(SECRET), 'not in the archive view');
  await app.idle();
  assert.ok(logs.includes('capturing with the owner cookies'), 'the logs were captured');
  assert.ok(!logs.includes(SECRET), 'the cookie value is never logged');
});

// POST /archives/upload end to end in the single process: a page saved by SingleFile, sent as its "upload to a REST
// form API" destination sends it (multipart `file` then `url`, Bearer key, Accept: multipart/form-data), becomes a
// complete archive whose PDF, screenshot and readable text are rendered with no network (the page's server sees
// nothing); bad input (too large, no URL, blocked URL, binary) is refused clearly and leaves nothing behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import { keyFor } from '../support/owners.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const FIXTURE = new URL('../fixtures/upload/', import.meta.url).pathname;
const MAX = 300_000;
let site: StaticServer;
let dir: { path: string; remove(): Promise<void> };
let app: Embedded;
let key: string;
let page: Buffer;

before(async () => {
  // The page's own server: every asset the saved page names lives here, so any fetch would show up in its log.
  site = await serveDir(FIXTURE);
  dir = await tempDir();
  app = await startTestEmbedded(dir.path, { UPLOAD_MAX_BYTES: String(MAX) });
  key = await keyFor(app.db.db, 'singlefile-extension');
  page = Buffer.from((await readFile(`${FIXTURE}singlefile-page.html`, 'utf8')).replaceAll('__ORIGIN__', site.origin));
});

after(async () => {
  await app?.close();
  await site?.close();
  await dir?.remove();
});

/** Exactly what SingleFile's RestFormApi.upload does: a File named SingleFile.html, then the URL field. */
function singleFileForm(content: Buffer | string, url: string | null): FormData {
  const form = new FormData();
  form.append(
    'file',
    new File(
      [new Blob([typeof content === 'string' ? content : new Uint8Array(content)], { type: 'text/html' })],
      'SingleFile.html',
      { type: 'text/html' },
    ),
  );
  if (url !== null) form.append('url', url);
  return form;
}

const upload = (form: FormData, bearer = key) =>
  http(app.url, '/archives/upload', {
    method: 'POST',
    body: form,
    headers: { Authorization: `Bearer ${bearer}`, Accept: 'multipart/form-data' },
  });

test('a SingleFile upload becomes a complete archive rendered with no network access', async () => {
  const r = await upload(singleFileForm(page, 'https://intranet.example.com/team/handbook'));
  assert.ok([200, 201].includes(r.status), `SingleFile accepts only 200/201, got ${r.status}`);
  assert.match(r.headers.get('content-type') ?? '', /application\/json/);
  const id = r.body.id as string;
  assert.equal(r.body.url, 'https://intranet.example.com/team/handbook');
  assert.equal(r.headers.get('location'), `/archives/${id}`);

  const a = await waitFor(app.url, id, (x: any) => terminal(x) && x.summary !== null, 120_000);
  assert.equal(a.status, 'complete', JSON.stringify(a.artifacts));
  const byFormat = Object.fromEntries(a.artifacts.map((x: any) => [x.format, x]));
  for (const f of ['singlefile', 'pdf', 'screenshot', 'readable'])
    assert.equal(byFormat[f]?.status, 'succeeded', `${f}: ${JSON.stringify(byFormat[f])}`);
  assert.equal(byFormat.monolith, undefined, 'an upload asks monolith for nothing (it would fetch the live URL)');
  assert.equal(a.title, 'Team handbook (saved while logged in)');

  const sf = await http<Buffer>(app.url, `/archives/${id}/artifacts/singlefile`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  assert.equal(sf.status, 200);
  assert.deepEqual(sf.body, page, 'the singlefile artifact is the uploaded file, byte for byte');

  const readable = await http(app.url, `/archives/${id}/artifacts/readable`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  assert.match(readable.body.text, /UPLOAD-SENTINEL/);
  const pdf = await http<Buffer>(app.url, `/archives/${id}/artifacts/pdf`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  assert.equal(pdf.body.subarray(0, 5).toString(), '%PDF-');
  const shot = await http<Buffer>(app.url, `/archives/${id}/artifacts/screenshot`, {
    headers: { Authorization: `Bearer ${key}` },
  });
  const png = PNG.sync.read(shot.body);
  assert.equal(png.width, 1280);
  assert.ok(a.summary.summary.length > 20, 'the summary was made from the uploaded text');

  // The page names a stylesheet, scripts, images, a frame and a CSS background on its server: none was asked for.
  assert.deepEqual(site.requests, [], 'no request left the renderer');
});

test('the upload belongs to its uploader: another user sees 404', async () => {
  const r = await upload(singleFileForm(page, 'https://intranet.example.com/private'));
  assert.equal(r.status, 201);
  const other = await keyFor(app.db.db, 'other', 'someone-else');
  const seen = await http(app.url, `/archives/${r.body.id}`, { headers: { Authorization: `Bearer ${other}` } });
  assert.equal(seen.status, 404);
  const unauth = await http(app.url, '/archives/upload', {
    method: 'POST',
    body: singleFileForm(page, 'https://example.com/'),
    headers: { Authorization: 'Bearer htb_not-a-real-key-0000000000000000' },
  });
  assert.equal(unauth.status, 401);
});

async function archiveCount(): Promise<number> {
  const r = await app.db.db
    .selectFrom('articles')
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

test('bad uploads are refused clearly and leave nothing behind', async () => {
  const before = await archiveCount();
  const big = await upload(singleFileForm(Buffer.alloc(MAX + 10, 'a'), 'https://example.com/big'));
  assert.equal(big.status, 413);
  assert.match(big.body.detail, new RegExp(String(MAX)), 'the cap is in the message');
  assert.equal(big.body.maxBytes, MAX);

  const noUrl = await upload(singleFileForm(page, null));
  assert.equal(noUrl.status, 400);
  assert.match(noUrl.body.type, /missing-url/);

  const noFile = new FormData();
  noFile.append('url', 'https://example.com/');
  const nf = await upload(noFile);
  assert.equal(nf.status, 400);
  assert.match(nf.body.type, /missing-file/);

  const blocked = await upload(singleFileForm(page, 'http://169.254.169.254/latest/meta-data/'));
  assert.equal(blocked.status, 400);
  assert.match(blocked.body.type, /blocked-address/);
  const scheme = await upload(singleFileForm(page, 'file:///etc/passwd'));
  assert.equal(scheme.status, 400);
  assert.match(scheme.body.type, /unsupported-scheme/);

  const binary = await upload(
    singleFileForm(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1]), 'https://example.com/'),
  );
  assert.equal(binary.status, 400);
  assert.match(binary.body.type, /not-html/);

  const json = await http(app.url, '/archives/upload', {
    method: 'POST',
    json: { url: 'https://example.com/' },
    headers: { Authorization: `Bearer ${key}` },
  });
  assert.equal(json.status, 415);
  assert.equal(await archiveCount(), before, 'no archive was created by a refused upload');
});

// End to end in embedded mode: a fixture site on loopback archived through the HTTP API, then every
// artifact checked as a user would (the SingleFile page opened offline), redelivery, retries, failures
// and a restart of the process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { launch, type Browser } from 'puppeteer-core';
import { PNG } from 'pngjs';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import { resolveChromium } from '../../containers/browser/chromium.ts';
import type { Embedded } from '../../containers/standalone/app.ts';
import { TOPICS, type CaptureJob } from '../../shared/core/messages.ts';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
let site: StaticServer;
let dir: { path: string; remove(): Promise<void> };
let app: Embedded;
let verifier: Browser;
let slowHits = 0;

before(async () => {
  site = await serveDir(FIXTURE, {
    routes: {
      // Answers only after a delay, so a test can kill the browser while the capture waits for it.
      '/slow.html': async (req, res) => {
        // Only the browser's loads count: the worker's content-type probe (user agent HTBase/…) comes first.
        if (!String(req.headers['user-agent']).includes('HTBase/')) slowHits++;
        await new Promise((r) => setTimeout(r, 1500));
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        res.end(
          '<!doctype html><html lang="en"><title>Slow page</title><body><article><h1>Slow</h1><p>SLOW-SENTINEL This page took its time to arrive, and the capture had to wait for it patiently.</p></article></body></html>',
        );
      },
    },
  });
  dir = await tempDir();
  app = await startTestEmbedded(dir.path);
  const spec = await resolveChromium({ executablePath: process.env.CHROME_PATH });
  verifier = await launch({
    executablePath: spec.executablePath,
    args: spec.args,
    headless: true,
    defaultViewport: { width: 1280, height: 800 },
  });
});

after(async () => {
  await verifier?.close();
  await app?.close();
  await site?.close();
  await dir?.remove();
});

async function download(id: string, format: string) {
  const r = await http<Buffer>(app.url, `/archives/${id}/artifacts/${format}`);
  assert.equal(r.status, 200, `download ${format}`);
  return r;
}

let fixtureId = '';

test('archives the fixture site into every format through the API', async () => {
  const submit = await http(app.url, '/archive', { method: 'POST', json: { url: `${site.origin}/index.html` } });
  assert.equal(submit.status, 202);
  assert.equal(submit.body.deduplicated, false);
  fixtureId = submit.body.id;
  const a = await waitFor(app.url, fixtureId, (x: any) => terminal(x) && x.summary !== null);
  assert.equal(a.status, 'complete', JSON.stringify(a.artifacts));
  const by = Object.fromEntries(a.artifacts.map((x: any) => [x.format, x]));
  for (const f of ['singlefile', 'pdf', 'screenshot', 'readable']) {
    assert.equal(by[f].status, 'succeeded', `${f}: ${by[f].errorCode} ${by[f].errorMessage}`);
    assert.match(by[f].sha256, /^[0-9a-f]{64}$/);
    assert.ok(by[f].sizeBytes > 0);
  }
  // No monolith binary on this test's search path: skipped, with the reason, never retried.
  assert.equal(by.monolith.status, 'skipped');
  assert.equal(by.monolith.errorCode, 'monolith_unavailable');
  assert.equal(a.title, 'The Lighthouse Keepers of Skerryvore');
  assert.equal(a.lang, 'en');
  assert.equal(a.finalUrl, `${site.origin}/index.html`);
  assert.equal(a.httpStatus, 200);
  assert.ok(a.summary.summary.length > 40, 'summary text');
  assert.equal(a.summary.provider, 'extractive');
  assert.equal(a.summary.lang, 'en');
});

test('the SingleFile archive is self-contained: offline it makes zero requests and keeps lazy and JS content', async () => {
  const { body, headers } = await download(fixtureId, 'singlefile');
  assert.match(headers.get('content-type') ?? '', /^text\/html/);
  const html = body.toString('utf8');
  const page = await verifier.newPage();
  const requests: string[] = [];
  await page.setRequestInterception(true);
  const ARCHIVE_URL = 'http://archive.invalid/singlefile.html';
  page.on('request', (req) => {
    if (req.url() === ARCHIVE_URL)
      return void req.respond({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
    if (req.url().startsWith('data:') || req.url().startsWith('blob:')) return void req.continue();
    requests.push(req.url());
    void req.abort();
  });
  await page.goto(ARCHIVE_URL, { waitUntil: 'load' });
  await new Promise((r) => setTimeout(r, 500));
  const found = await page.evaluate(() => ({
    text: document.body.innerText,
    native: (document.querySelector('#lazy-native') as HTMLImageElement | null)?.src ?? '',
    observer: (document.querySelector('#lazy-observer') as HTMLImageElement | null)?.src ?? '',
    nativeLoaded: (document.querySelector('#lazy-native') as HTMLImageElement | null)?.naturalWidth ?? 0,
    observerLoaded: (document.querySelector('#lazy-observer') as HTMLImageElement | null)?.naturalWidth ?? 0,
  }));
  await page.close();
  assert.deepEqual(requests, [], 'the archive fetched nothing from the network');
  assert.match(found.text, /JS-BUILT/, 'content built by JavaScript from fetch() is in the archive');
  assert.match(found.native, /^data:image\//, 'loading=lazy image inlined');
  assert.match(found.observer, /^data:image\//, 'IntersectionObserver image inlined');
  assert.ok(found.nativeLoaded > 0 && found.observerLoaded > 0, 'both lazy images decode');
  assert.match(html, /@font-face[^}]*url\(["']?data:font\/woff2?;base64,/, 'the web font is inlined');
});

test('the PDF, screenshot and readable text are what they claim to be', async () => {
  const pdf = (await download(fixtureId, 'pdf')).body;
  assert.equal(pdf.subarray(0, 5).toString(), '%PDF-');
  assert.match(pdf.subarray(-1024).toString('latin1'), /%%EOF/);

  const png = PNG.sync.read((await download(fixtureId, 'screenshot')).body);
  const page = await verifier.newPage();
  await page.goto(`${site.origin}/index.html`, { waitUntil: 'networkidle0' });
  const height = await page.evaluate(async () => {
    for (let y = 0; y < document.documentElement.scrollHeight; y += 600) {
      window.scrollTo(0, y);
      await new Promise((r) => setTimeout(r, 50));
    }
    window.scrollTo(0, 0);
    return document.documentElement.scrollHeight;
  });
  await page.close();
  assert.equal(png.width, 1280);
  assert.ok(Math.abs(png.height - height) <= 2, `screenshot height ${png.height} vs page ${height}`);

  const r = await download(fixtureId, 'readable');
  assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
  const readable = r.body as unknown as { text: string; title: string };
  assert.match(readable.text, /ARTICLE-SENTINEL/);
  assert.match(readable.text, /Skerryvore lighthouse stands on a reef/);
  assert.equal(readable.title, 'The Lighthouse Keepers of Skerryvore');
});

test('the archive is found by full-text search and by URL', async () => {
  const s = await http(app.url, `/archives?q=${encodeURIComponent('logbooks keepers')}`);
  assert.equal(s.status, 200);
  assert.ok(s.body.items.some((i: any) => i.id === fixtureId));
  const none = await http(app.url, `/archives?q=${encodeURIComponent('zeppelin')}`);
  assert.equal(none.body.items.length, 0);
  const byUrl = await http(app.url, `/archives?url=${encodeURIComponent(`${site.origin}/index.html#top`)}`);
  assert.deepEqual(
    byUrl.body.items.map((i: any) => i.id),
    [fixtureId],
  );
});

test('a redelivered capture message re-captures nothing and duplicates nothing', async () => {
  const before = (await http(app.url, `/archives/${fixtureId}`)).body;
  const launches = app.pool.launches;
  const job: CaptureJob = {
    v: 1,
    articleId: fixtureId,
    url: `${site.origin}/index.html`,
    formats: ['singlefile', 'pdf', 'screenshot', 'readable'],
    reason: 'submit',
    requestedAt: new Date().toISOString(),
  };
  const envelope = {
    message: { data: Buffer.from(JSON.stringify(job)).toString('base64'), messageId: 'dup-1', attributes: {} },
    subscription: 'x',
  };
  const direct = await app.browserWorker.handlePush(envelope);
  assert.equal(direct.status, 200);
  await app.bus.publish(TOPICS.captureBrowser, job);
  await app.bus.publish(TOPICS.captureBrowser, job);
  await app.idle();
  const afterView = (await http(app.url, `/archives/${fixtureId}`)).body;
  assert.equal(afterView.artifacts.length, 5);
  for (const x of afterView.artifacts) {
    const b = before.artifacts.find((y: any) => y.format === x.format);
    assert.equal(x.attempts, b.attempts, `${x.format} attempts unchanged`);
    assert.equal(x.sha256, b.sha256, `${x.format} bytes unchanged`);
  }
  assert.equal(afterView.version, before.version, 'no state change at all');
  assert.equal(app.pool.launches, launches);
});

test('a transient failure (the browser dies mid-capture) is retried and then succeeds', async () => {
  await app.pool.browser();
  const submit = await http(app.url, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/slow.html`, formats: ['readable', 'screenshot'] },
  });
  assert.equal(submit.status, 202);
  // Wait until the page request is in flight, then kill Chromium under the capture.
  const deadline = Date.now() + 30_000;
  while (slowHits === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const pid = app.pool.pid();
  assert.ok(pid, 'browser running');
  process.kill(pid!, 'SIGKILL');
  const a: any = await waitFor(app.url, submit.body.id, terminal);
  assert.equal(a.status, 'complete', JSON.stringify(a.artifacts));
  for (const x of a.artifacts) assert.ok(x.attempts >= 2, `${x.format} was retried (attempts ${x.attempts})`);
  assert.ok(slowHits >= 2);
});

test('a permanent failure (a host that does not resolve) fails with a stable code and is not retried', async () => {
  const submit = await http(app.url, '/archive', {
    method: 'POST',
    json: { url: 'http://no-such-host.invalid/page', formats: ['singlefile', 'pdf'] },
  });
  assert.equal(submit.status, 202);
  const a: any = await waitFor(app.url, submit.body.id, terminal);
  await app.idle();
  const final = (await http(app.url, `/archives/${submit.body.id}`)).body;
  assert.equal(a.status, 'failed');
  for (const x of final.artifacts) {
    assert.equal(x.status, 'failed');
    assert.equal(x.errorCode, 'dns_not_found');
    assert.equal(x.attempts, 1, 'one attempt only');
  }
});

test('after a restart every archive, artifact and summary is still there', async () => {
  const before = (await http(app.url, `/archives/${fixtureId}`)).body;
  const shot = (await download(fixtureId, 'singlefile')).body;
  await app.close();
  app = await startTestEmbedded(dir.path);
  const afterView = (await http(app.url, `/archives/${fixtureId}`)).body;
  assert.deepEqual(afterView.artifacts, before.artifacts);
  assert.deepEqual(afterView.summary, before.summary);
  assert.equal(afterView.status, 'complete');
  const again = (await download(fixtureId, 'singlefile')).body;
  assert.equal(createHash('sha256').update(again).digest('hex'), createHash('sha256').update(shot).digest('hex'));
  const onDisk = await readFile(join(dir.path, 'blobs', 'articles', fixtureId, 'singlefile.html'));
  assert.equal(
    createHash('sha256').update(onDisk).digest('hex'),
    before.artifacts.find((x: any) => x.format === 'singlefile').sha256,
  );
  const list = await http(app.url, '/archives?limit=100');
  assert.ok(list.body.items.length >= 3);
});

// Non-HTML URLs in embedded mode: a PDF, an image and plain text are stored as they are (`original`),
// PDF and text give readable text for search and the summary, and no browser format pretends otherwise.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { launch } from 'puppeteer-core';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import { resolveChromium } from '../../containers/browser/chromium.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
let site: StaticServer;
let dir: { path: string; remove(): Promise<void> };
let app: Embedded;
let pdf: Buffer;
let png: Buffer;

before(async () => {
  // A real PDF with known text, made by Chromium itself.
  const spec = await resolveChromium({ executablePath: process.env.CHROME_PATH });
  const b = await launch({ executablePath: spec.executablePath, args: spec.args, headless: true });
  const page = await b.newPage();
  await page.setContent(
    '<html lang="fr"><title>Rapport annuel</title><body><h1>Rapport annuel</h1><p>PDF-SENTINEL Le phare de Skerryvore se dresse sur un récif au large de Tiree. Les gardiens y vivaient des semaines entières, isolés par les tempêtes de l’Atlantique.</p><p>Leurs journaux de bord décrivent le vent, la mer et les navires qui passaient au large.</p></body></html>',
  );
  pdf = Buffer.from(await page.pdf({ format: 'A4' }));
  await b.close();
  png = await readFile(`${FIXTURE}img/hero.png`);
  site = await serveDir(FIXTURE, {
    routes: {
      '/report.pdf': (_req, res) => void res.writeHead(200, { 'content-type': 'application/pdf' }).end(pdf),
      '/go-to-pdf': (_req, res) => void res.writeHead(302, { location: '/report.pdf' }).end(),
      '/notes.txt': (_req, res) =>
        void res
          .writeHead(200, { 'content-type': 'text/plain; charset=utf-8' })
          .end('TEXT-SENTINEL Plain notes about lighthouses and the keepers who lived in them for months at a time.'),
    },
  });
  dir = await tempDir();
  app = await startTestEmbedded(dir.path);
});

after(async () => {
  await app?.close();
  await site?.close();
  await dir?.remove();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a PDF URL (behind a redirect) is stored as original, with its text searchable and summarized', async () => {
  const r = await http(app.url, '/archive', { method: 'POST', json: { url: `${site.origin}/go-to-pdf` } });
  const a: any = await waitFor(app.url, r.body.id, (x: any) => terminal(x) && x.summary !== null);
  assert.equal(a.status, 'complete', JSON.stringify(a.artifacts));
  const by = Object.fromEntries(a.artifacts.map((x: any) => [x.format, x]));
  assert.equal(by.original.status, 'succeeded');
  assert.equal(by.original.contentType, 'application/pdf');
  assert.equal(by.original.sha256, sha(pdf), 'stored byte for byte');
  assert.equal(by.readable.status, 'succeeded');
  for (const f of ['singlefile', 'pdf', 'screenshot']) {
    assert.equal(by[f].status, 'skipped');
    assert.equal(by[f].errorCode, 'not_html');
  }
  assert.equal(a.finalUrl, `${site.origin}/report.pdf`);
  assert.ok(a.warnings.includes('non_html'));
  const dl = await http<Buffer>(app.url, `/archives/${a.id}/artifacts/original`);
  assert.equal(dl.status, 200);
  assert.equal(dl.headers.get('content-type'), 'application/pdf');
  assert.match(dl.headers.get('content-disposition') ?? '', /original\.pdf/);
  assert.equal(sha(dl.body), sha(pdf));
  const found = await http(app.url, `/archives?q=${encodeURIComponent('PDF-SENTINEL')}`);
  assert.deepEqual(
    found.body.items.map((i: any) => i.id),
    [a.id],
  );
  assert.match(a.summary.summary, /phare|gardiens|journaux/);
  assert.equal(a.summary.lang, 'fr');
});

test('an image URL is stored as original; no readable text is invented', async () => {
  const r = await http(app.url, '/archive', { method: 'POST', json: { url: `${site.origin}/img/hero.png` } });
  const a: any = await waitFor(app.url, r.body.id, terminal);
  const by = Object.fromEntries(a.artifacts.map((x: any) => [x.format, x]));
  assert.equal(by.original.status, 'succeeded');
  assert.equal(by.original.contentType, 'image/png');
  assert.equal(by.original.sha256, sha(png));
  assert.equal(by.readable.status, 'skipped');
  assert.equal(a.status, 'complete');
});

test('a plain-text URL is stored as original and its text is the readable text', async () => {
  const r = await http(app.url, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/notes.txt`, formats: ['readable', 'singlefile'] },
  });
  const a: any = await waitFor(app.url, r.body.id, terminal);
  const by = Object.fromEntries(a.artifacts.map((x: any) => [x.format, x]));
  assert.equal(by.original.status, 'succeeded');
  const readable = (await http(app.url, `/archives/${a.id}/artifacts/readable`)).body as any;
  assert.match(readable.text, /TEXT-SENTINEL/);
  assert.equal(by.singlefile.errorCode, 'not_html');
});

test('an HTML page is not mistaken for an original', async () => {
  const r = await http(app.url, '/archive', {
    method: 'POST',
    json: { url: `${site.origin}/frame.html`, formats: ['readable'] },
  });
  const a: any = await waitFor(app.url, r.body.id, terminal);
  assert.deepEqual(
    a.artifacts.map((x: any) => x.format),
    ['readable'],
  );
  assert.equal(a.artifacts[0].status, 'succeeded');
});

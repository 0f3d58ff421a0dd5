// Capture behaviour through embedded HT Base and its API: page metadata behind a redirect, a consent wall
// dismissed in the stored archive, a bot challenge flagged on the article, and an oversized page failing
// with too_large while the same worker goes on serving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const SITE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const MAX_ARTIFACT = 2_000_000;
let site: StaticServer;
let dir: { path: string; remove(): Promise<void> };
let app: Embedded;

/** A PNG of random noise (incompressible): about 4 bytes per pixel, whatever the codec. */
function noisePng(width: number, height: number): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (Math.random() * 256) | 0;
  return PNG.sync.write(png);
}

before(async () => {
  const big = noisePng(1000, 800).toString('base64'); // about 4.3 MB as a data URI
  site = await serveDir(SITE, {
    routes: {
      '/old-article': (_req, res) => void res.writeHead(301, { location: '/index.html' }).end(),
      '/oversized.html': (_req, res) =>
        void res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(
            `<!doctype html><html lang="en"><title>Oversized</title><p>OVERSIZED-PAGE</p><img width="200" height="160" src="data:image/png;base64,${big}"></html>`,
          ),
    },
  });
  dir = await tempDir();
  app = await startTestEmbedded(dir.path, { MAX_ARTIFACT_BYTES: String(MAX_ARTIFACT) });
});

after(async () => {
  await app?.close();
  await site?.close();
  await dir?.remove();
});

async function archive(url: string): Promise<any> {
  const r = await http(app.url, '/archive', { method: 'POST', json: { url } });
  assert.ok(r.status < 300, JSON.stringify(r.body));
  return waitFor(app.url, r.body.id, terminal);
}

const byFormat = (a: any) => Object.fromEntries(a.artifacts.map((x: any) => [x.format, x]));

test('page metadata is recorded on the article: final URL after a redirect, status, title, canonical, language, favicon', async () => {
  const a = await archive(`${site.origin}/old-article`);
  assert.equal(a.status, 'complete', JSON.stringify(a.artifacts));
  assert.equal(a.finalUrl, `${site.origin}/index.html`);
  assert.equal(a.httpStatus, 200);
  assert.equal(a.title, 'The Lighthouse Keepers of Skerryvore');
  assert.equal(a.canonicalUrl, `${site.origin}/articles/skerryvore`);
  assert.equal(a.lang, 'en');
  assert.equal(a.faviconUrl, `${site.origin}/img/hero.png`);
  assert.deepEqual(a.warnings ?? [], []);
});

test('a consent wall is dismissed in the stored SingleFile archive', async () => {
  const a = await archive(`${site.origin}/consent-onetrust.html`);
  assert.equal(byFormat(a).singlefile.status, 'succeeded');
  const html = (await http<Buffer>(app.url, `/archives/${a.id}/artifacts/singlefile`)).body.toString('utf8');
  assert.match(html, /CONSENT-CONTENT/);
  assert.doesNotMatch(html, /CONSENT-BANNER-TEXT/);
});

test('a bot challenge page is captured but flagged on the article', async () => {
  const a = await archive(`${site.origin}/challenge.html`);
  assert.ok(a.warnings.includes('bot_challenge'), `warnings: ${JSON.stringify(a.warnings)}`);
  assert.equal(a.title, 'Just a moment...');
});

test('an oversized page fails its archive with too_large and the same worker serves the next capture', async () => {
  const pid = app.pool.pid();
  const big = await archive(`${site.origin}/oversized.html`);
  const sf = byFormat(big).singlefile;
  assert.equal(sf.status, 'failed');
  assert.equal(sf.errorCode, 'too_large');
  assert.equal(byFormat(big).screenshot.status, 'succeeded', 'the small artifacts of the same page are kept');
  const next = await archive(`${site.origin}/index.html`);
  assert.equal(next.status, 'complete', JSON.stringify(next.artifacts));
  assert.equal(app.pool.pid(), pid, 'the same browser served both');
});

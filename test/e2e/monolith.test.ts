// The monolith worker in embedded mode, with the stand-in binary (test/fakes/monolith-standin: no real
// monolith can be installed here; a real one on PATH is used instead when present): URL mode fetches the
// page itself through the egress proxy; rendered-DOM mode feeds it the DOM the browser rendered, so
// content built by JavaScript survives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir, terminal, waitFor } from '../support/embedded.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const STANDIN = fileURLToPath(new URL('../fakes/monolith-standin/monolith', import.meta.url));
let real: string | null = null;
try {
  real = execFileSync('sh', ['-c', 'command -v monolith'], { encoding: 'utf8' }).trim() || null;
} catch {
  real = null;
}
const BINARY = real ?? STANDIN;
let site: StaticServer;

before(async () => {
  site = await serveDir(FIXTURE);
  console.log(
    `# monolith binary under test: ${real ? `real monolith at ${real}` : 'the stand-in (no monolith on PATH)'}`,
  );
});
after(async () => site?.close());

async function archive(mode: 'url' | 'rendered') {
  const dir = await tempDir();
  const app = await startTestEmbedded(dir.path, { MONOLITH_PATH: BINARY, MONOLITH_MODE: mode });
  try {
    const r = await http(app.url, '/archive', {
      method: 'POST',
      json: { url: `${site.origin}/index.html`, formats: ['monolith', 'readable'] },
    });
    const a: any = await waitFor(app.url, r.body.id, terminal);
    const html = ((await http<Buffer>(app.url, `/archives/${a.id}/artifacts/monolith`)).body as Buffer).toString(
      'utf8',
    );
    return { a, html };
  } finally {
    await app.close();
    await dir.remove();
  }
}

test('URL mode: monolith fetches the page itself and inlines its assets', async () => {
  const { a, html } = await archive('url');
  const m = a.artifacts.find((x: any) => x.format === 'monolith');
  assert.equal(m.status, 'succeeded', `${m.errorCode} ${m.errorMessage}`);
  assert.match(m.engineVersion, /^2\.\d+\.\d+/);
  assert.match(html, /ARTICLE-SENTINEL/);
  assert.match(html, /data:image\/png;base64,/, 'images inlined');
  assert.doesNotMatch(html, /JS-BUILT/, 'without a browser the JS-built list is not there');
});

test('rendered-DOM mode: the DOM the browser rendered reaches monolith, JS-built content included', async () => {
  const { a, html } = await archive('rendered');
  const m = a.artifacts.find((x: any) => x.format === 'monolith');
  assert.equal(m.status, 'succeeded', `${m.errorCode} ${m.errorMessage}`);
  assert.match(html, /JS-BUILT first item from fetch/);
  assert.match(html, /ARTICLE-SENTINEL/);
  assert.doesNotMatch(html, /<script\b[^>]*src=["']?js\/app\.js/, 'scripts removed (-j)');
});

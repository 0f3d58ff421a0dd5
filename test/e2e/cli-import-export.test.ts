// `htbase import FILE` and `htbase export` against a running single-process server, as a person runs them:
// the import waits until every line is archived, merged or failed and lists the failed lines; the export
// streams the library to a file that imports again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { startTestEmbedded, tempDir } from '../support/embedded.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const CLI = new URL('../../containers/standalone/cli/htbase.js', import.meta.url).pathname;
let site: StaticServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let app: Embedded;

before(async () => {
  site = await serveDir(new URL('../fixtures/site/', import.meta.url).pathname);
  dir = await tempDir();
  app = await startTestEmbedded(dir.path, { IMPORT_RATE_PER_SECOND: '10' });
});
after(async () => {
  await app?.close();
  await site?.close();
  await dir?.remove();
});

function htbase(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--server', app.url],
      { env: { ...process.env, HTBASE_API_KEY: '' }, timeout: 240_000 },
      (error, out, err) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

test('htbase import waits for the captures and reports failed lines; htbase export writes the library', async () => {
  const file = join(dir.path, 'list.txt');
  await writeFile(file, `${site.origin}/index.html\n${site.origin}/index.html#dup\nftp://example.org/\n`);
  const imported = await htbase('import', file, '--formats', 'readable');
  assert.equal(imported.code, 0, imported.err);
  assert.match(imported.err, /import [0-9a-f-]{36}: 3 lines \(urls\)/);
  assert.match(imported.out, /archived 1, duplicates 1, failed 1 of 3/);
  assert.match(imported.out, /line 3: unsupported_scheme: .*ftp:\/\/example\.org\//);

  const asJson = await htbase('import', file, '--formats', 'readable', '--json');
  assert.equal(asJson.code, 0, asJson.err);
  const v = JSON.parse(asJson.out);
  assert.deepEqual([v.archived, v.duplicates, v.failed], [0, 2, 1], 'the page is in the library now');

  const out = join(dir.path, 'export.html');
  const exported = await htbase('export', '--format', 'netscape', '--output', out);
  assert.equal(exported.code, 0, exported.err);
  const html = await readFile(out, 'utf8');
  assert.match(html, /^<!DOCTYPE NETSCAPE-Bookmark-file-1>/);
  assert.equal(html.match(/<DT><A HREF=/g)?.length, 1);
  assert.ok(html.includes(`HREF="${site.origin}/index.html"`));

  const bad = await htbase('export', '--format', 'pdf');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown export format pdf/);
  const missing = await htbase('import', join(dir.path, 'nope.txt'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /ENOENT|no such file/);
});

// Import and export end to end in the single process, against the fixture site in real Chromium: every import
// format (sample files in test/fixtures/imports), bad lines and bad files, duplicates against the library, owner
// checks, a restart in the middle of an import, and each export format imported again into an empty instance.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import yauzl from 'yauzl';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir } from '../support/embedded.ts';
import { keyFor } from '../support/owners.ts';
import { createApiKey } from '../../shared/auth/api-keys.ts';
import { findUserByRef } from '../../shared/db/users.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const FIXTURE = new URL('../fixtures/site/', import.meta.url).pathname;
const SAMPLES = new URL('../fixtures/imports/', import.meta.url).pathname;
const ENV = {
  API_KEYS_REQUIRED: 'true',
  RATE_LIMIT_PER_MINUTE: '1000',
  READ_RATE_LIMIT_PER_MINUTE: '100000',
  IMPORT_RATE_PER_SECOND: '4',
  IMPORT_MAX_IN_FLIGHT: '3',
  IMPORT_MAX_PER_HOST: '2',
  IMPORT_MAX_BYTES: '65536',
  // Short leases: after the restart below, a capture it cut off is swept again within seconds, not minutes.
  LEASE_SECONDS: '30',
};
// Readable text only: a real browser capture per page, at a third of the cost of every format.
const FORMATS = 'readable';

let site: StaticServer;
let dir: Awaited<ReturnType<typeof tempDir>>;
let app: Embedded;
let alice = '';
let bob = '';

before(async () => {
  site = await serveDir(FIXTURE);
  dir = await tempDir();
  app = await startTestEmbedded(dir.path, ENV);
  alice = await keyFor(app.db.db, 'alice laptop', 'alice');
  bob = await keyFor(app.db.db, 'bob laptop', 'bob');
});
after(async () => {
  await app?.close();
  await site?.close();
  await dir?.remove();
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

async function sample(name: string): Promise<Buffer> {
  const port = new URL(site.origin).port;
  return Buffer.from((await readFile(`${SAMPLES}${name}`, 'utf8')).replaceAll('PORT', port));
}

function postImport(base: string, key: string, file: Buffer, name: string, fields: Record<string, string> = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries({ formats: FORMATS, ...fields })) form.set(k, v);
  form.set('file', new Blob([new Uint8Array(file)]), name);
  return http(base, '/imports', { method: 'POST', headers: auth(key), body: form });
}

async function waitImport(base: string, key: string, id: string, done = (v: any) => v.status === 'done') {
  const deadline = Date.now() + 240_000;
  for (;;) {
    const r = await http(base, `/imports/${id}`, { headers: auth(key) });
    assert.equal(r.status, 200);
    if (done(r.body)) return r.body;
    if (Date.now() > deadline) assert.fail(`import ${id} did not finish: ${JSON.stringify(r.body)}`);
    await sleep(300);
  }
}

const count = async (a: Embedded, table: 'imports' | 'import_items' | 'articles') =>
  Number((await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(a.db.db)).rows[0]!.n);

test('a Netscape file: pages archived with their titles, dates, folders as tags and notes; bad lines reported', async () => {
  const r = await postImport(app.url, alice, await sample('netscape.html'), 'bookmarks.html');
  assert.equal(r.status, 202, JSON.stringify(r.body));
  assert.equal(r.headers.get('location'), `/imports/${r.body.id}`);
  assert.equal(r.body.format, 'netscape');
  assert.equal(r.body.total, 6);
  const v = await waitImport(app.url, alice, r.body.id);
  assert.deepEqual(
    { total: v.total, archived: v.archived, duplicates: v.duplicates, failed: v.failed, queued: v.queued },
    { total: 6, archived: 3, duplicates: 1, failed: 2, queued: 0 },
  );
  assert.deepEqual(
    v.failures.map((f: any) => [f.line, f.reason.split(':')[0]]),
    [
      [21, 'blocked_address'],
      [22, 'unsupported_scheme'],
    ],
  );
  assert.match(v.failures[0].url, /169\.254\.169\.254/);
  const exp = await http(app.url, '/export?format=json', { headers: auth(alice) });
  const scroll = exp.body.archives.find((a: any) => a.url.endsWith('/scroll/index.html'));
  assert.deepEqual(scroll.tags, ['Reading', 'Long reads', 'essay', 'later']);
  assert.equal(scroll.note, 'Read on the train');
  assert.equal(scroll.savedAt, new Date(1610000000 * 1000).toISOString());
  assert.equal(scroll.status, 'complete');
});

test('every other format is detected and imported; pages already in the library merge as duplicates', async () => {
  const expected: Record<string, { format: string; total: number; failed: number }> = {
    'pocket.html': { format: 'pocket-html', total: 5, failed: 2 },
    'pocket.csv': { format: 'pocket-csv', total: 6, failed: 3 },
    'instapaper.csv': { format: 'instapaper', total: 5, failed: 2 },
    'karakeep.json': { format: 'karakeep', total: 5, failed: 2 },
    'linkwarden.json': { format: 'linkwarden', total: 5, failed: 2 },
    'omnivore.json': { format: 'omnivore', total: 5, failed: 2 },
    'wallabag.json': { format: 'wallabag', total: 5, failed: 2 },
    'urls.txt': { format: 'urls', total: 6, failed: 3 },
  };
  const articles = await count(app, 'articles');
  for (const [file, e] of Object.entries(expected)) {
    const r = await postImport(app.url, alice, await sample(file), file);
    assert.equal(r.status, 202, `${file}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.format, e.format, file);
    const v = await waitImport(app.url, alice, r.body.id);
    // Home and scroll pages are in the library already: one in-file duplicate + two library duplicates.
    assert.deepEqual(
      [v.total, v.failed, v.duplicates, v.archived],
      [e.total, e.failed, 3, 0],
      `${file}: ${JSON.stringify(v)}`,
    );
    assert.ok(
      v.failures.some((f: any) => /blocked_address/.test(f.reason)),
      `${file}: the metadata address is refused`,
    );
  }
  assert.equal(await count(app, 'articles'), articles, 'no page was archived twice');
  // Tags and notes from the later files attach to the archives already there.
  const exp = (await http(app.url, '/export?format=json', { headers: auth(alice) })).body;
  const home = exp.archives.find((a: any) => a.url.endsWith('/index.html'));
  for (const t of ['Reading', 'home', 'fixture', 'read', 'Essays']) assert.ok(home.tags.includes(t), t);
  assert.match(home.note, /My note on the home page/);
  assert.match(home.note, /Worth keeping/);
  assert.equal(home.savedAt, new Date(1590000000 * 1000).toISOString(), 'the earliest saved date wins');
});

test('bad files: unknown format 415, corrupt 422, oversized 413 with the cap, bad fields 400; nothing stored', async () => {
  const before = [await count(app, 'imports'), await count(app, 'import_items')];
  const cases: Array<[Buffer, Record<string, string>, number, RegExp]> = [
    [Buffer.from('just some prose\nnothing to import'), {}, 415, /unknown-import-format/],
    [Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3]), {}, 415, /unknown-import-format/],
    [Buffer.from('{"bookmarks": [ {"title": '), {}, 422, /unreadable-import/],
    [await sample('karakeep.json'), { format: 'wallabag' }, 422, /unreadable-import/],
    [Buffer.from('# only a comment\n'), { format: 'urls' }, 422, /empty-import/],
    [Buffer.concat([Buffer.from('http://example.org/\n'), Buffer.alloc(70_000, 'a')]), {}, 413, /file-too-large/],
    [await sample('urls.txt'), { format: 'mystery' }, 400, /unknown-import-format/],
    [await sample('urls.txt'), { formats: 'pdf,nope' }, 400, /unknown-format/],
  ];
  for (const [file, fields, status, type] of cases) {
    const r = await postImport(app.url, alice, file, 'f', fields);
    assert.equal(r.status, status, JSON.stringify(r.body));
    assert.match(r.body.type, type);
    if (status === 413) assert.match(r.body.detail, /65536 bytes/);
  }
  const noFile = new FormData();
  noFile.set('format', 'urls');
  const r = await http(app.url, '/imports', { method: 'POST', headers: auth(alice), body: noFile });
  assert.equal(r.status, 400);
  assert.match(r.body.type, /missing-file/);
  const json = await http(app.url, '/imports', { method: 'POST', headers: auth(alice), json: { url: 'x' } });
  assert.equal(json.status, 415);
  assert.deepEqual([await count(app, 'imports'), await count(app, 'import_items')], before);
});

test("owners: another user's import is a 404, their export holds none of it, a read-only key cannot import", async () => {
  const r = await postImport(app.url, alice, await sample('urls.txt'), 'urls.txt');
  assert.equal(r.status, 202);
  const other = await http(app.url, `/imports/${r.body.id}`, { headers: auth(bob) });
  assert.equal(other.status, 404);
  assert.equal((await http(app.url, `/imports/${r.body.id}`)).status, 401);
  const exp = (await http(app.url, '/export?format=json', { headers: auth(bob) })).body;
  assert.deepEqual(exp.archives, []);
  const aliceId = (await findUserByRef(app.db.db, 'alice'))!.id;
  const reader = (await createApiKey(app.db.db, 'alice reader', { userId: aliceId, scope: 'read' })).key;
  const readOnly = await postImport(app.url, reader, await sample('urls.txt'), 'urls.txt');
  assert.equal(readOnly.status, 403);
  assert.match(readOnly.body.type, /insufficient-scope/);
  assert.equal((await http(app.url, `/imports/${r.body.id}`, { headers: auth(reader) })).status, 200);
  const bad = await http(app.url, '/export?format=pdf', { headers: auth(alice) });
  assert.equal(bad.status, 400);
  await waitImport(app.url, alice, r.body.id);
});

test('an import interrupted by a restart resumes where it stopped, never more than the per-host bound at once', async () => {
  const urls = Array.from({ length: 8 }, (_, i) => `${site.origin}/index.html?page=${i}`).join('\n');
  const r = await postImport(app.url, alice, Buffer.from(urls), 'resume.txt');
  assert.equal(r.status, 202);
  let seen: any;
  let maxCapturing = 0;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(100)) {
    seen = (await http(app.url, `/imports/${r.body.id}`, { headers: auth(alice) })).body;
    maxCapturing = Math.max(maxCapturing, seen.capturing);
    if (seen.archived >= 1) break;
  }
  assert.ok(seen.archived >= 1 && seen.waiting > 0, `stopped in the middle: ${JSON.stringify(seen)}`);
  await app.close();
  // The bus is in process: a capture cut off by the restart is republished by the sweeper once its lease expires.
  app = await startTestEmbedded(dir.path, { ...ENV, SWEEP_INTERVAL_SECONDS: '2' });
  const v = await waitImport(app.url, alice, r.body.id, (b) => {
    maxCapturing = Math.max(maxCapturing, b.capturing);
    return b.status === 'done';
  });
  assert.deepEqual([v.archived, v.failed, v.duplicates], [8, 0, 0], JSON.stringify(v));
  assert.ok(maxCapturing <= 2, `at most 2 captures at once on one host, saw ${maxCapturing}`);
  const rows = await sql<{ n: string }>`select count(distinct article_id) as n from import_items
    where import_id = ${r.body.id}`.execute(app.db.db);
  assert.equal(Number(rows.rows[0]!.n), 8, 'each line has its own archive, none made twice');
});

function unzip(buf: Buffer): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err);
      const out = new Map<string, Buffer>();
      zip.on('entry', (e: yauzl.Entry) =>
        zip.openReadStream(e, (err2, s) => {
          if (err2 || !s) return reject(err2);
          const chunks: Buffer[] = [];
          s.on('data', (c: Buffer) => chunks.push(c));
          s.on('end', () => {
            out.set(e.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        }),
      );
      zip.on('end', () => resolve(out));
      zip.readEntry();
    });
  });
}

/** What must survive a round trip: the page, its title, when it was saved, its tags and its note. */
const essence = (archives: any[], seconds = false) =>
  archives
    .map((a) => ({
      url: a.url,
      title: a.title,
      savedAt: seconds ? Math.floor(Date.parse(a.savedAt) / 1000) : a.savedAt,
      tags: [...a.tags].sort(),
      note: a.note,
    }))
    .sort((x, y) => x.url.localeCompare(y.url));

test('each export format, imported into an empty instance, gives back the same archives', async () => {
  const get = (format: string) => http(app.url, `/export?format=${format}`, { headers: auth(alice) });
  const json = await get('json');
  assert.equal(json.status, 200);
  assert.match(json.headers.get('content-disposition')!, /attachment; filename="htbase-export-.*\.json"/);
  const original = json.body;
  assert.equal(original.format, 'htbase-export');
  assert.equal(original.archives.length, 11);
  for (const a of original.archives) assert.ok(a.artifacts.some((x: any) => x.format === 'readable'));

  const netscape = await get('netscape');
  assert.match(netscape.headers.get('content-type')!, /text\/html/);
  assert.match(netscape.body.toString(), /^<!DOCTYPE NETSCAPE-Bookmark-file-1>/);

  const zip = await get('zip');
  assert.equal(zip.headers.get('content-type'), 'application/zip');
  const files = await unzip(zip.body);
  const manifest = JSON.parse(files.get('manifest.json')!.toString());
  assert.equal(manifest.files.length, 1 + original.archives.length, 'archive.json and each readable.json');
  for (const f of manifest.files) {
    const bytes = files.get(f.path);
    assert.ok(bytes, f.path);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), f.sha256, f.path);
  }
  const sums = files.get('SHA256SUMS')!.toString().trim().split('\n');
  assert.equal(sums.length, manifest.files.length);
  for (const a of original.archives)
    for (const x of a.artifacts.filter((y: any) => y.file))
      assert.equal(manifest.files.find((f: any) => f.path === x.file).sha256, x.sha256, 'stored sum = shipped sum');

  for (const [format, body, seconds] of [
    ['json', Buffer.from(JSON.stringify(json.body)), false],
    ['netscape', netscape.body, true],
    ['zip', zip.body, false],
  ] as const) {
    const emptyDir = await tempDir();
    const fresh = await startTestEmbedded(emptyDir.path, ENV);
    try {
      const key = await keyFor(fresh.db.db, 'restore', 'alice');
      const r = await postImport(fresh.url, key, body, `export.${format}`);
      assert.equal(r.status, 202, `${format}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.format, format === 'netscape' ? 'netscape' : 'htbase');
      const v = await waitImport(fresh.url, key, r.body.id);
      assert.deepEqual([v.archived, v.failed, v.duplicates], [11, 0, 0], `${format}: ${JSON.stringify(v)}`);
      const back = (await http(fresh.url, '/export?format=json', { headers: auth(key) })).body;
      assert.deepEqual(essence(back.archives, seconds), essence(original.archives, seconds), format);
    } finally {
      await fresh.close();
      await emptyDir.remove();
    }
  }
});

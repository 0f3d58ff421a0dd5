// The import parsers on one sample file per format (test/fixtures/imports): titles, saved dates, tags and
// folders kept, notes kept, duplicates within the file merged, bad lines reported; and whole-file failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import yazl from 'yazl';
import { prepareImport } from '../../shared/imports/detect.ts';
import { ImportFileError, type ImportFormat } from '../../shared/imports/types.ts';

const SITE = 'http://127.0.0.1:8080';
const fixture = (name: string) =>
  Buffer.from(readFileSync(new URL(`../fixtures/imports/${name}`, import.meta.url), 'utf8').replaceAll('PORT', '8080'));
const day = (iso: string) => new Date(iso).toISOString();

interface Expect {
  file: string;
  format: ImportFormat;
  home: { title: string; savedAt: string; tags: string[]; note: string | null };
  scroll: { title: string | null; savedAt: string | null; tags: string[]; note?: string | null };
  /** Reasons of the lines refused while reading (the blocked address is refused later, by the SSRF guard). */
  failed: RegExp[];
}

const EARLY = day('2020-05-20T18:40:00Z'); // 1590000000: the duplicate's date, earlier than the first line's
const cases: Expect[] = [
  {
    file: 'netscape.html',
    format: 'netscape',
    home: { title: 'Fixture & home', savedAt: EARLY, tags: ['Reading', 'home'], note: null },
    scroll: {
      title: 'Scrolling page',
      savedAt: day('2021-01-07T06:13:20Z'),
      tags: ['Reading', 'Long reads', 'essay', 'later'],
      note: 'Read on the train',
    },
    failed: [/unsupported_scheme.*javascript/],
  },
  {
    file: 'pocket.html',
    format: 'pocket-html',
    home: { title: 'Fixture home', savedAt: EARLY, tags: ['home', 'fixture', 'read'], note: null },
    scroll: { title: 'Scrolling page', savedAt: day('2021-01-07T06:13:20Z'), tags: [] },
    failed: [/unsupported_scheme.*ftp/],
  },
  {
    file: 'pocket.csv',
    format: 'pocket-csv',
    home: { title: 'Fixture home', savedAt: EARLY, tags: ['home', 'fixture', 'read'], note: null },
    scroll: { title: 'Scrolling, a page', savedAt: day('2021-01-07T06:13:20Z'), tags: [] },
    failed: [/unsupported_scheme.*mailto/, /invalid_url/],
  },
  {
    file: 'instapaper.csv',
    format: 'instapaper',
    home: { title: 'Fixture home', savedAt: EARLY, tags: ['home', 'fixture', 'read'], note: 'The fixture, quoted' },
    scroll: { title: 'Scrolling page', savedAt: day('2021-01-07T06:13:20Z'), tags: ['Essays'] },
    failed: [/unsupported_scheme.*file/],
  },
  {
    file: 'karakeep.json',
    format: 'karakeep',
    home: {
      title: 'Fixture home',
      savedAt: EARLY,
      tags: ['home', 'fixture', 'read'],
      note: 'My note on the home page',
    },
    scroll: { title: null, savedAt: day('2021-01-07T06:13:20Z'), tags: [] },
    failed: [/text bookmark, not a link/],
  },
  {
    file: 'linkwarden.json',
    format: 'linkwarden',
    home: {
      title: 'Fixture home',
      savedAt: day('2020-05-21T18:40:00Z'),
      tags: ['Reading', 'home', 'Essays', 'read'],
      note: 'Linkwarden description as note',
    },
    scroll: { title: 'Scrolling page', savedAt: day('2021-01-07T06:13:20Z'), tags: ['Reading', 'Essays'] },
    failed: [/no URL/],
  },
  {
    file: 'omnivore.json',
    format: 'omnivore',
    home: {
      title: 'Fixture home',
      savedAt: day('2020-05-21T18:40:00Z'),
      tags: ['home', 'fixture', 'read'],
      note: null,
    },
    scroll: { title: 'Scrolling page', savedAt: day('2021-01-07T06:13:20Z'), tags: [] },
    failed: [/invalid_url/],
  },
  {
    file: 'wallabag.json',
    format: 'wallabag',
    home: {
      title: 'Fixture home',
      savedAt: day('2020-05-21T18:40:00Z'),
      tags: ['home', 'fixture', 'read'],
      note: '> Fixture\nWorth keeping',
    },
    scroll: { title: 'Scrolling page', savedAt: day('2021-01-07T06:13:20Z'), tags: [] },
    failed: [/unsupported_scheme.*data/],
  },
  {
    file: 'urls.txt',
    format: 'urls',
    home: { title: null as unknown as string, savedAt: null as unknown as string, tags: [], note: null },
    scroll: { title: null, savedAt: null, tags: [] },
    failed: [/unsupported_scheme.*gopher/, /invalid_url/],
  },
];

for (const c of cases) {
  test(`${c.file}: detected as ${c.format}; titles, dates, tags, folders and notes kept; duplicate merged`, async () => {
    const p = await prepareImport(fixture(c.file));
    assert.equal(p.format, c.format);
    // Told explicitly, the same file reads the same.
    assert.deepEqual((await prepareImport(fixture(c.file), c.format)).lines, p.lines);
    const home = p.lines.find((l) => l.url === `${SITE}/index.html`);
    assert.ok(home, 'the home page is a line');
    assert.equal(home.title, c.home.title);
    assert.equal(home.savedAt?.toISOString() ?? null, c.home.savedAt);
    assert.deepEqual(home.tags, c.home.tags);
    assert.equal(home.note, c.home.note);
    assert.equal(home.mergedLines.length, 1, 'the cosmetic variant of the home page merged into it');
    assert.equal(p.duplicates, 1);
    const scroll = p.lines.find((l) => l.url === `${SITE}/scroll/index.html`);
    assert.ok(scroll);
    assert.equal(scroll.title, c.scroll.title);
    assert.equal(scroll.savedAt?.toISOString() ?? null, c.scroll.savedAt);
    assert.deepEqual(scroll.tags, c.scroll.tags);
    if (c.scroll.note !== undefined) assert.equal(scroll.note, c.scroll.note);
    // The metadata address parses; the guard refuses it when it is queued.
    assert.ok(p.lines.some((l) => l.host === '169.254.169.254' || l.host === 'metadata.google.internal'));
    assert.equal(p.failed.length, c.failed.length, JSON.stringify(p.failed));
    c.failed.forEach((re, i) => assert.match(p.failed[i]!.reason, re));
    for (const f of p.failed) assert.ok(f.line > 0 && typeof f.raw === 'string');
  });
}

async function zipOf(files: Record<string, string>): Promise<Buffer> {
  const z = new yazl.ZipFile();
  for (const [name, text] of Object.entries(files)) z.addBuffer(Buffer.from(text), name);
  z.end();
  const chunks: Buffer[] = [];
  for await (const c of z.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test("Omnivore's zip export: metadata_*.json files in order, highlights as notes", async () => {
  const articles = JSON.parse(fixture('omnivore.json').toString());
  const zip = await zipOf({
    'metadata_0_to_2.json': JSON.stringify(articles.slice(0, 2)),
    'metadata_2_to_5.json': JSON.stringify(articles.slice(2)),
    'highlights/fixture-home-1.md': '> a highlight\n\nmy note',
    'content/fixture-home-1.html': '<p>ignored</p>',
  });
  const p = await prepareImport(zip);
  assert.equal(p.format, 'omnivore');
  assert.equal(p.lines.length, 3);
  assert.equal(p.lines[0]!.note, '> a highlight\n\nmy note');
  assert.equal(p.duplicates, 1);
});

test('whole-file failures: unknown format (415-kind) and corrupt files (422-kind) lose nothing silently', async () => {
  const fails = async (buf: Buffer, kind: ImportFileError['kind'], re: RegExp, named?: ImportFormat) => {
    await assert.rejects(prepareImport(buf, named), (err: unknown) => {
      assert.ok(err instanceof ImportFileError, String(err));
      assert.equal(err.kind, kind);
      assert.match(err.message, re);
      return true;
    });
  };
  await fails(Buffer.from('hello world\nthis is prose'), 'unknown-format', /not a bookmark file/);
  await fails(Buffer.from('{"some": "object"}'), 'unknown-format', /no known export/);
  await fails(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]), 'unknown-format', /binary/);
  await fails(Buffer.from('<html><body><p>a page</p></body></html>'), 'unknown-format', /neither a bookmark file/);
  await fails(Buffer.alloc(0), 'corrupt', /empty/);
  await fails(Buffer.from('{"bookmarks": [ {"title": '), 'corrupt', /JSON file cannot be read/);
  await fails(Buffer.from('title,url,time_added,tags,status\n"unterminated,http://a.example/,1,,\n'), 'corrupt', /CSV/);
  await fails(Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(40, 7)]), 'corrupt', /zip/);
  await fails(fixture('karakeep.json'), 'corrupt', /not a wallabag export/, 'wallabag');
  await fails(fixture('urls.txt'), 'corrupt', /Pocket CSV/, 'pocket-csv');
});

// readable.json extraction (Readability on linkedom) on HTML strings: no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { countWords, extractReadable } from '../../containers/browser/readable.ts';

const FIXTURE = readFileSync(new URL('../fixtures/site/index.html', import.meta.url), 'utf8');

test('finds the article of the fixture page with its metadata', () => {
  const doc = extractReadable(FIXTURE, 'http://example.test/news/index.html');
  assert.equal(doc.fallback, false);
  assert.equal(doc.title, 'The Lighthouse Keepers of Skerryvore');
  assert.equal(doc.byline, 'By Ada Fixture');
  assert.equal(doc.lang, 'en');
  assert.match(doc.text, /^ARTICLE-SENTINEL Twelve miles off the coast of Tiree/);
  assert.doesNotMatch(doc.text, /Fixture footer|Home About/);
  // paragraphs stay apart, whitespace inside them collapses
  assert.equal(doc.text.split('\n\n').filter((p) => p.length > 100).length, 4);
  assert.doesNotMatch(doc.text, / {2}|\t/);
  assert.equal(doc.wordCount, countWords(doc.text));
  assert.ok(doc.wordCount > 150, `wordCount ${doc.wordCount}`);
  // relative URLs are made absolute against the page URL
  assert.match(doc.html, /src="http:\/\/example\.test\/news\/img\/hero\.png"/);
  assert.doesNotMatch(doc.html, /<DIV/);
});

test('a short page is still an article; a page with no readable text falls back to its body text', () => {
  const page = (body: string) =>
    `<!doctype html><html lang="de"><head><title> Kurz </title><style>p{}</style></head><body>${body}<script>var hidden = 1;</script></body></html>`;
  const short = extractReadable(page('<p>Erste Zeile</p><div>zweite <b>Zeile</b></div>'), 'http://example.test/');
  assert.equal(short.fallback, false);
  assert.equal(short.text, 'Erste Zeile\n\nzweite Zeile');

  // Readability drops form controls entirely and returns nothing: the body text is kept instead
  const form = extractReadable(
    page('<form><button>Erste Zeile</button><select><option>zweite Zeile</option></select></form>'),
    'http://example.test/',
  );
  assert.equal(form.fallback, true);
  assert.equal(form.title, 'Kurz');
  assert.equal(form.lang, 'de');
  assert.equal(form.text, 'Erste Zeile\n\nzweite Zeile');
  assert.equal(form.html, '');
  assert.equal(form.wordCount, 4);
});

test('words are counted in scripts without spaces too', () => {
  assert.equal(countWords('one two, three!'), 3);
  assert.ok(countWords('東京は日本の首都です') >= 4);
  assert.equal(countWords('  \n '), 0);
});

// Bounded text processing (issue 16): word counts stay linear, huge DOMs and texts are cut to a bound, and the
// text worker threads leave the event loop free, stop at their hard timeout and at the capture's abort signal.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  countWords,
  extractReadable,
  MAX_READABILITY_ELEMENTS,
  MAX_TEXT_CHARS,
} from '../../containers/browser/readable.ts';
import { closeTextWorkers, runTextTask } from '../../containers/browser/text-pool.ts';
import { PermanentError } from '../../shared/core/errors.ts';

after(() => closeTextWorkers());

const MB_OF_WORDS = 'lighthouse keepers '.repeat(55_000); // 1.045 MB

// Intl.Segmenter over the whole string took minutes for 1 MB (quadratic); windowed it takes about a second.
// The bound is this test's timeout, which the old code overran by two orders of magnitude.
test('countWords counts 1 MB of text, the same words as one segmenter pass would', { timeout: 30_000 }, () => {
  assert.equal(countWords(MB_OF_WORDS), 110_000);
  // Window boundaries change nothing: mixed scripts, a space-free CJK run longer than a window, emoji pairs.
  const mixed = 'Das Haus. 東京は日本の首都です。'.repeat(400) + '語'.repeat(9_000) + ' 😀😀 end';
  let whole = 0;
  for (const s of new Intl.Segmenter(undefined, { granularity: 'word' }).segment(mixed)) if (s.isWordLike) whole++;
  const got = countWords(mixed);
  assert.ok(Math.abs(got - whole) <= 3, `windowed ${got} against one pass ${whole}`); // a cut CJK run may split a word
  assert.equal(countWords('one two  three\n\nfour'), 4);
});

test('a text over MAX_TEXT_CHARS is cut and marked truncated; the word count covers all of it', () => {
  const html = `<html><body><pre>${'word '.repeat(MAX_TEXT_CHARS / 4)}</pre></body></html>`;
  const doc = extractReadable(html, 'http://example.test/');
  assert.equal(doc.text.length, MAX_TEXT_CHARS);
  assert.equal(doc.truncated, true);
  assert.equal(doc.wordCount, MAX_TEXT_CHARS / 4);
});

test('a DOM over MAX_READABILITY_ELEMENTS skips Readability and keeps the body text', () => {
  const n = MAX_READABILITY_ELEMENTS + 10;
  const html = `<html><title>Many</title><body>${'<p>a paragraph of prose</p>'.repeat(n)}</body></html>`;
  const doc = extractReadable(html, 'http://example.test/');
  assert.equal(doc.fallback, true);
  assert.equal(doc.wordCount, 4 * n);
  assert.equal(doc.title, 'Many');
});

test('Readability on 20,000 paragraphs runs in a worker thread while the event loop keeps ticking', async () => {
  const html = `<html><body><article>${Array.from({ length: 20_000 }, (_, i) => `<p>Paragraph ${i} of a long article, with enough words to read as prose.</p>`).join('')}</article></body></html>`;
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    const doc = await runTextTask({ kind: 'readable', html, url: 'http://example.test/' }, { timeoutMs: 120_000 });
    assert.equal(doc.fallback, false);
    assert.match(doc.text, /^Paragraph 0 of a long article/);
    assert.equal(doc.wordCount, 20_000 * 13);
  } finally {
    clearInterval(timer);
  }
  // Work on the main thread would have let no interval fire until it finished.
  assert.ok(ticks > 0, 'the event loop did not run while the text was processed');
});

test('a task over its hard timeout is stopped with a permanent timeout, and the next task gets a fresh thread', async () => {
  await assert.rejects(
    runTextTask({ kind: 'words', text: MB_OF_WORDS.repeat(20) }, { timeoutMs: 200 }),
    (err: unknown) => err instanceof PermanentError && err.code === 'timeout',
  );
  assert.equal(await runTextTask({ kind: 'words', text: 'still working' }), 2);
});

test("the capture's abort signal stops a running task with its reason", async () => {
  const ac = new AbortController();
  const reason = new PermanentError('timeout', 'capture exceeded 1 ms');
  setTimeout(() => ac.abort(reason), 100);
  await assert.rejects(
    runTextTask({ kind: 'words', text: MB_OF_WORDS.repeat(20) }, { signal: ac.signal }),
    (err) => err === reason,
  );
  await assert.rejects(runTextTask({ kind: 'words', text: 'x' }, { signal: ac.signal }), (err) => err === reason);
  assert.equal(await runTextTask({ kind: 'words', text: 'after the abort' }), 3);
});

test('a PDF that is not one fails its task with an error, without taking the pool down', async () => {
  await assert.rejects(runTextTask({ kind: 'pdf', bytes: new TextEncoder().encode('%PDF-1.7 garbage') }));
  assert.equal(await runTextTask({ kind: 'words', text: 'pool alive' }), 2);
});

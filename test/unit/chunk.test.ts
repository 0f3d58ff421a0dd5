// The map-reduce splitter: every chunk fits the budget, nothing is lost, boundaries are natural.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateTokens, splitIntoChunks } from '../../functions/summarize/chunk.ts';

const words = (s: string) => s.split(/\s+/).filter(Boolean);

test('estimateTokens over-estimates English and counts CJK about one per character', () => {
  const en = 'The quick brown fox jumps over the lazy dog. '.repeat(10);
  assert.ok(estimateTokens(en) >= en.length / 4);
  assert.ok(estimateTokens(en) <= en.length / 3);
  const ja = '東京都は火曜日に新しい自転車道の計画を承認した。';
  assert.ok(estimateTokens(ja) >= ja.length * 0.8);
  assert.equal(estimateTokens(''), 0);
});

test('a short text is one chunk, unchanged', () => {
  assert.deepEqual(splitIntoChunks('One paragraph.\n\nTwo paragraphs.', 100), ['One paragraph.\n\nTwo paragraphs.']);
});

test('paragraphs are packed into chunks under the budget without losing a word', () => {
  const paras = Array.from(
    { length: 40 },
    (_, i) => `Paragraph ${i} talks about topic ${i} in some detail. It has a second sentence too.`,
  );
  const text = paras.join('\n\n');
  const chunks = splitIntoChunks(text, 120);
  assert.ok(chunks.length > 1);
  for (const c of chunks) assert.ok(estimateTokens(c) <= 120, `over budget: ${estimateTokens(c)}`);
  // Paragraph boundaries are kept: no paragraph is split across chunks.
  for (const p of paras)
    assert.ok(
      chunks.some((c) => c.includes(p)),
      `paragraph split: ${p}`,
    );
  assert.deepEqual(words(chunks.join(' ')), words(text));
});

test('a paragraph over budget is split by sentence, a sentence over budget by words', () => {
  const longPara = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
  const chunks = splitIntoChunks(longPara, 30);
  for (const c of chunks) {
    assert.ok(estimateTokens(c) <= 30);
    assert.match(c, /\.$/);
  }
  assert.deepEqual(words(chunks.join(' ')), words(longPara));

  const monster = Array.from({ length: 500 }, (_, i) => `w${i}`).join(' ');
  const pieces = splitIntoChunks(monster, 50);
  for (const c of pieces) assert.ok(estimateTokens(c) <= 50);
  assert.deepEqual(words(pieces.join(' ')), words(monster));

  const noSpaces = 'x'.repeat(2000);
  const cut = splitIntoChunks(noSpaces, 40);
  for (const c of cut) assert.ok(estimateTokens(c) <= 40);
  assert.equal(cut.join(''), noSpaces);
});

test('a non-positive budget is refused', () => {
  assert.throws(() => splitIntoChunks('text', 0), RangeError);
});

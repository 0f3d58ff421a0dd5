// Unit tests of the fidelity benchmark's pure parts: pixel difference, visible-text similarity, quantiles,
// the "good" rule, the corpus page list, and the aggregation and baseline comparison of the report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  crop,
  decodePng,
  encodePng,
  isGood,
  median,
  pixelDiff,
  quantile,
  textSimilarity,
  tokenize,
  type RawImage,
} from '../bench/fidelity/metrics.ts';
import { parsePagesTsv } from '../bench/fidelity/corpus.ts';
import {
  aggregate,
  failedTool,
  finishTool,
  summarize,
  worseThanBaseline,
  type PageResult,
  type ToolResult,
} from '../bench/fidelity/report.ts';

function solid(width: number, height: number, rgb: [number, number, number]): RawImage {
  const data = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) data.set([...rgb, 255], i * 4);
  return { width, height, data };
}

function paint(img: RawImage, x0: number, y0: number, w: number, h: number, rgb: [number, number, number]): RawImage {
  const data = new Uint8Array(img.data);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) data.set([...rgb, 255], (y * img.width + x) * 4);
  return { ...img, data };
}

test('an image against itself, or an identical copy, differs by exactly 0', () => {
  const a = paint(solid(64, 48, [255, 255, 255]), 10, 10, 20, 5, [0, 0, 0]);
  assert.equal(pixelDiff(a, a).fraction, 0);
  const copy = { ...a, data: new Uint8Array(a.data) };
  const d = pixelDiff(a, copy);
  assert.equal(d.fraction, 0);
  assert.equal(d.mismatched, 0);
  assert.equal(d.nonOverlap, 0);
});

test('a painted block counts its pixels; colours under the threshold do not', () => {
  const a = solid(100, 100, [255, 255, 255]);
  const b = paint(a, 0, 0, 10, 10, [0, 0, 0]); // 100 of 10,000 pixels
  const d = pixelDiff(a, b);
  assert.ok(d.mismatched >= 90 && d.mismatched <= 100, `mismatched ${d.mismatched}`);
  assert.ok(Math.abs(d.fraction - 0.01) < 0.0015, `fraction ${d.fraction}`);
  const nearlyWhite = solid(100, 100, [254, 254, 254]);
  assert.equal(pixelDiff(a, nearlyWhite).fraction, 0);
  assert.equal(pixelDiff(solid(10, 10, [255, 255, 255]), solid(10, 10, [0, 0, 0])).fraction, 1);
});

test('a height difference counts the non-overlapping area as different, whichever side is taller', () => {
  const short = solid(100, 80, [255, 255, 255]);
  const tall = solid(100, 100, [255, 255, 255]);
  const d = pixelDiff(short, tall);
  assert.equal(d.mismatched, 0);
  assert.equal(d.nonOverlap, 2_000);
  assert.equal(d.total, 10_000);
  assert.equal(d.fraction, 0.2);
  assert.equal(pixelDiff(tall, short).fraction, 0.2);
  // Width and height both differ: the union box minus the overlap.
  const wide = solid(120, 80, [255, 255, 255]);
  assert.equal(pixelDiff(tall, wide).fraction, (120 * 100 - 100 * 80) / (120 * 100));
  assert.equal(pixelDiff(solid(0, 0, [0, 0, 0]), solid(0, 0, [0, 0, 0])).fraction, 0);
});

test('PNG round trip and crop keep the pixels', () => {
  const a = paint(solid(30, 40, [200, 10, 10]), 5, 5, 3, 3, [0, 255, 0]);
  const back = decodePng(encodePng(a));
  assert.equal(back.width, 30);
  assert.equal(back.height, 40);
  assert.equal(pixelDiff(a, back).fraction, 0);
  const top = crop(a, 30, 10);
  assert.equal(top.height, 10);
  assert.deepEqual(Array.from(top.data.subarray(0, 8)), Array.from(a.data.subarray(0, 8)));
  assert.equal(crop(a, 100, 100), a); // nothing to cut: the same image
});

test('text similarity: identical 1, disjoint 0, partial in between, order and whitespace ignored', () => {
  const t = 'Facebook Is Tracking Me Even Though I’m Not on Facebook';
  assert.equal(textSimilarity(t, t), 1);
  assert.equal(textSimilarity('', ''), 1);
  assert.equal(textSimilarity('alpha beta', ''), 0);
  assert.equal(textSimilarity('alpha beta', 'gamma delta'), 0);
  assert.equal(textSimilarity('one two three', 'three\n\n two   one'), 1);
  assert.equal(textSimilarity('a b c d', 'a b'), (2 * 2) / 6);
  // Multisets: a repeated token only matches as many times as it occurs on both sides.
  assert.equal(textSimilarity('x x x y', 'x y'), (2 * 2) / 6);
  assert.deepEqual(tokenize('Résumé, 2024 — naïve 東京!'), ['Résumé', '2024', 'naïve', '東京']);
});

test('quantiles and the good rule', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([1, 2, 3, 4]), 2.5);
  assert.ok(Number.isNaN(median([])));
  assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], 0.95), 20);
  assert.equal(quantile([5], 0.95), 5);
  assert.equal(isGood({ fullDiff: 0.01, leaks: 0 }), true);
  assert.equal(isGood({ fullDiff: 0.0101, leaks: 0 }), false);
  assert.equal(isGood({ fullDiff: 0, leaks: 1 }), false);
});

test('pages.tsv parsing skips comments and rejects malformed lines', () => {
  const rows = parsePagesTsv('# id\torigin\tpath\tfeatures\nsphinx-search\tdoc\t/s/search.html?q=x\tJS search\n\n');
  assert.deepEqual(rows, [{ id: 'sphinx-search', origin: 'doc', path: '/s/search.html?q=x', features: 'JS search' }]);
  assert.throws(() => parsePagesTsv('broken-line-without-tabs\n'), /malformed/);
});

function tool(over: Partial<ToolResult>): ToolResult {
  return finishTool({
    ok: true,
    captureMs: 1000,
    bytes: 1000,
    viewportDiff: 0,
    fullDiff: 0,
    textSimilarity: 1,
    leaks: 0,
    leakedUrls: [],
    pageHeight: 800,
    ...over,
  });
}
function page(id: string, subset: PageResult['subset'], ht: ToolResult, sf: ToolResult): PageResult {
  return {
    id,
    subset,
    url: `http://x/${id}`,
    original: { ok: true, pageHeight: 800, textTokens: 10 },
    noise: { viewportDiff: 0, fullDiff: 0, textSimilarity: 1 },
    tools: { htbase: ht, 'single-file-cli': sf },
  };
}

test('aggregation, baseline comparison and targets', () => {
  const pages = [
    page('z1', 'zengarden', tool({ captureMs: 2000 }), tool({ captureMs: 8000 })),
    page('z2', 'zengarden', tool({ fullDiff: 0.05, captureMs: 3000 }), tool({ fullDiff: 0.02, captureMs: 9000 })),
    page('r1', 'readability', tool({ leaks: 2, textSimilarity: 0.97 }), tool({ textSimilarity: 0.99 })),
    page('r2', 'readability', failedTool(500, 'timeout'), tool({})),
  ];
  const z = aggregate(
    pages.filter((p) => p.subset === 'zengarden'),
    'htbase',
  );
  assert.equal(z.pages, 2);
  assert.equal(z.good, 1);
  assert.equal(z.goodShare, 0.5);
  assert.equal(z.medianCaptureMs, 2500);
  const r = aggregate(
    pages.filter((p) => p.subset === 'readability'),
    'htbase',
  );
  assert.equal(r.leaks, 2);
  assert.equal(r.pagesWithLeaks, 1);
  assert.equal(r.failures, 1);
  assert.equal(r.good, 0);
  assert.equal(r.medianBytes, 1000); // failed captures have no size
  const worse = worseThanBaseline(pages);
  assert.deepEqual(
    worse.map((w) => w.id),
    ['z2', 'r1', 'r2'],
  );
  assert.match(worse[1].reasons.join(';'), /leaks 2 vs 0/);
  const s = summarize(pages, ['htbase', 'single-file-cli']);
  const byName = Object.fromEntries(s.targets.map((t) => [t.target, t.pass]));
  assert.equal(byName["good share >= single-file-cli's on zengarden"], true); // 50% vs 50%
  assert.equal(byName["good share >= single-file-cli's on readability"], false);
  assert.equal(byName['zero leaks'], false);
  assert.equal(byName["median capture time <= single-file-cli's"], true);
  // A page whose original did not render is not scored for anyone.
  const unscored = { ...page('x', 'extra', tool({}), tool({})), original: { ok: false, pageHeight: 0, textTokens: 0 } };
  assert.equal(aggregate([unscored], 'htbase').pages, 0);
});

// The issue-19 comparison of bench:fidelity: HT Base's full-page difference beside single-file-cli's, the pages
// worse by more than half a point, and the overall figure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { finishTool, type PageResult, type ToolResult } from '../bench/fidelity/report.ts';
import { versusBaseline, versusText } from '../bench/fidelity/versus.ts';

function tool(fullDiff: number): ToolResult {
  return finishTool({
    ok: true,
    captureMs: 1000,
    bytes: 1000,
    viewportDiff: 0,
    fullDiff,
    textSimilarity: 1,
    leaks: 0,
    leakedUrls: [],
    pageHeight: 800,
  });
}
function page(id: string, ht: number, sf: number, originalOk = true): PageResult {
  return {
    id,
    subset: 'readability',
    url: `http://x/${id}`,
    original: { ok: originalOk, pageHeight: 800, textTokens: 10 },
    noise: null,
    tools: { htbase: tool(ht), 'single-file-cli': tool(sf) },
  };
}

test('pages more than half a point worse than single-file-cli are listed, with the overall figure', () => {
  const v = versusBaseline([
    page('same', 0.01, 0.01),
    page('just-within', 0.015, 0.01), // +0.5 points exactly: not worse
    page('worse', 0.03, 0.02), // +1 point
    page('better', 0, 0.04),
    page('unscored', 0.9, 0, false), // the original did not render: nobody is scored on it
  ]);
  assert.deepEqual(v.worse, ['worse']);
  assert.deepEqual(
    v.rows.map((r) => r.id),
    ['same', 'just-within', 'worse', 'better'],
  );
  assert.ok(Math.abs(v.overall.htMean - 0.055 / 4) < 1e-12);
  assert.ok(Math.abs(v.overall.sfMean - 0.08 / 4) < 1e-12);
  assert.equal(v.overall.htMedian, 0.0125);
  const text = versusText(v);
  assert.match(text, /^worse\s+3\.00%\s+2\.00%\s+\+1\.00 {2}WORSE$/m);
  assert.match(text, /by more than 0\.5 points \(full page\): worse$/m);
  assert.doesNotMatch(text, /unscored/);
});

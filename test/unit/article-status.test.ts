// deriveArticleStatus (shared/db/status.ts): the article's status as a pure function of its artifacts' statuses,
// for every combination that matters, and independent of the artifacts' order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveArticleStatus } from '../../shared/db/status.ts';
import type { ArticleStatus, ArtifactStatus } from '../../shared/db/types.ts';

const cases: Array<[ArtifactStatus[], ArticleStatus, string]> = [
  [[], 'pending', 'no artifacts yet'],
  [['pending'], 'pending', 'nothing started'],
  [['pending', 'pending', 'pending'], 'pending', 'nothing started'],
  [['running'], 'running', 'one in progress'],
  [['running', 'pending'], 'running', 'in progress, more to come'],
  [['running', 'succeeded'], 'running', 'in progress after a success'],
  [['running', 'failed'], 'running', 'in progress after a failure'],
  [['pending', 'succeeded'], 'running', 'some finished, some waiting (a retry)'],
  [['pending', 'failed'], 'running', 'some failed, some waiting'],
  [['pending', 'skipped'], 'running', 'one skipped, one waiting'],
  [['succeeded'], 'complete', 'all done'],
  [['succeeded', 'succeeded', 'succeeded'], 'complete', 'all done'],
  [['succeeded', 'skipped'], 'complete', 'a skipped engine does not spoil a success'],
  [['succeeded', 'failed'], 'partial', 'some failed'],
  [['succeeded', 'failed', 'skipped'], 'partial', 'some failed, one skipped'],
  [['failed'], 'failed', 'the only one failed'],
  [['failed', 'failed'], 'failed', 'all failed'],
  [['failed', 'skipped'], 'failed', 'nothing succeeded'],
  [['skipped'], 'failed', 'nothing could be made'],
  [['skipped', 'skipped'], 'failed', 'nothing could be made'],
];

for (const [statuses, expected, why] of cases) {
  test(`[${statuses.join(', ')}] is ${expected}: ${why}`, () => {
    assert.equal(deriveArticleStatus(statuses), expected);
    assert.equal(deriveArticleStatus([...statuses].reverse()), expected, 'order does not matter');
  });
}

test('every combination of up to three artifacts follows the rules in their order of precedence', () => {
  const all: ArtifactStatus[] = ['pending', 'running', 'succeeded', 'failed', 'skipped'];
  let checked = 0;
  const visit = (prefix: ArtifactStatus[]) => {
    if (prefix.length) {
      const has = (s: ArtifactStatus) => prefix.includes(s);
      const expected: ArticleStatus = has('running')
        ? 'running'
        : prefix.every((s) => s === 'pending')
          ? 'pending'
          : has('pending')
            ? 'running'
            : !has('succeeded')
              ? 'failed'
              : has('failed')
                ? 'partial'
                : 'complete';
      assert.equal(deriveArticleStatus(prefix), expected, prefix.join(','));
      checked++;
    }
    if (prefix.length < 3) for (const s of all) visit([...prefix, s]);
  };
  visit([]);
  assert.equal(checked, 5 + 25 + 125);
});

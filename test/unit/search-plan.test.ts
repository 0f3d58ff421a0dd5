// walkNewest (shared/db/search.ts): which way the search finds its newest matches, from the planner's estimates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CANDIDATES, walkNewest } from '../../shared/db/search.ts';

test('a word in most of the archives walks them newest first; a rarer word comes from the index', () => {
  assert.equal(walkNewest(41_000, 50_000), true, 'a common word (82%)');
  assert.equal(walkNewest(3_500, 50_000), false, 'a mid-frequency word (7%)');
  assert.equal(walkNewest(40, 50_000), false, 'a rare word');
  assert.equal(walkNewest(4_000, 5_000), true, 'a common word in a small library');
  assert.equal(walkNewest(0, 50_000), false, 'no estimate of matches (a partial URL): the trigram indexes answer');
  assert.equal(walkNewest(10, 0), false, 'an owner with no archives yet');
  assert.ok(CANDIDATES >= 100, 'enough candidates to rank');
});

// README's table of error codes and the ErrorCode union (shared/core/errors.ts) list the same codes, both ways,
// so a code cannot be added, renamed or dropped in one place only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES, PermanentError, errorCode, isErrorCode } from '../../shared/core/errors.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The first-column codes of the table under the "### Error codes" heading, in order. */
function readmeCodes(markdown: string): string[] {
  const start = markdown.indexOf('\n### Error codes\n');
  assert.ok(start >= 0, 'README has an "### Error codes" section');
  const section = markdown.slice(start + 1).split(/\n#{1,6} /)[0];
  const rows = section.split('\n').filter((l) => l.startsWith('|'));
  assert.ok(rows.length > 2, 'the section holds a table');
  assert.match(rows[1], /^\|\s*-+\s*\|/, 'the second row is the header separator');
  return rows.slice(2).map((row) => {
    const m = /^\|\s*`([a-z_]+)`\s*\|/.exec(row);
    assert.ok(m, `a row starts with a code in backticks: ${row}`);
    return m[1];
  });
}

test('README lists every ErrorCode, and nothing else, once each', () => {
  const documented = readmeCodes(readme);
  assert.equal(new Set(documented).size, documented.length, 'no code is listed twice');
  const union = new Set<string>(ERROR_CODES);
  const undocumented = ERROR_CODES.filter((c) => !documented.includes(c));
  const unknown = documented.filter((c) => !union.has(c));
  assert.deepEqual(undocumented, [], 'codes of the union missing from README');
  assert.deepEqual(unknown, [], 'README codes that are not in the union');
  assert.equal(documented.length, ERROR_CODES.length);
});

test('the union has no duplicates, and isErrorCode accepts exactly its members', () => {
  assert.equal(new Set(ERROR_CODES).size, ERROR_CODES.length);
  for (const c of ERROR_CODES) assert.equal(isErrorCode(c), true, c);
  for (const c of ['', 'Timeout', 'blocked-address', 'guard_error', 'too_large '])
    assert.equal(isErrorCode(c), false, c);
});

test('errorCode reads the code of our errors and calls anything else internal', () => {
  assert.equal(errorCode(new PermanentError('too_large', 'x')), 'too_large');
  assert.equal(errorCode(new Error('boom')), 'internal');
  assert.equal(errorCode('not an error'), 'internal');
});

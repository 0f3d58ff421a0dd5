// Pure-function tests for the monolith wrapper: `-V` parsing, exit-code mapping, stderr summaries and
// argument building (containers/monolith/version.ts, buildMonolithArgs in containers/monolith/monolith.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseMonolithVersion,
  describeExit,
  summarizeStderr,
  compareVersions,
  PINNED_MONOLITH_VERSION,
} from '../../containers/monolith/version.ts';
import { buildMonolithArgs } from '../../containers/monolith/monolith.ts';
import { PermanentError } from '../../shared/core/errors.ts';

test('parseMonolithVersion reads what clap prints across releases', () => {
  const fixtures: [string, string | null][] = [
    ['monolith 2.10.1\n', '2.10.1'],
    ['monolith 2.8.3', '2.8.3'],
    ['monolith 2.4.0 \n', '2.4.0'],
    ['monolith v2.7.0\n', '2.7.0'],
    ['monolith 2.10.1-standin\n', '2.10.1-standin'],
    ['warning: something\nmonolith 2.9.0\n', '2.9.0'],
    ['', null],
    ['monolith\n', null],
    ['curl 8.5.0 (x86_64-pc-linux-gnu)', null],
    ['Usage: monolith [OPTIONS] <TARGET>', null],
  ];
  for (const [input, expected] of fixtures) assert.equal(parseMonolithVersion(input), expected, JSON.stringify(input));
  assert.equal(parseMonolithVersion(`monolith ${PINNED_MONOLITH_VERSION}\n`), PINNED_MONOLITH_VERSION);
});

test('compareVersions orders dotted versions numerically', () => {
  assert.equal(compareVersions('2.10.1', '2.9.9'), 1);
  assert.equal(compareVersions('2.8.0', '2.10.0'), -1);
  assert.equal(compareVersions('2.10.1-standin', '2.10.1'), 0);
});

test('describeExit maps exits to stable codes with the useful stderr line', () => {
  const stderr = 'http://x.test/a.png (404 Not Found)\n\x1b[31mError: could not retrieve target document\x1b[0m\n';
  assert.deepEqual(describeExit(1, null, stderr), {
    code: 'monolith_failed',
    message: 'monolith exited with code 1: Error: could not retrieve target document',
  });
  assert.equal(
    describeExit(2, null, "error: unexpected argument '-x' found\n").message,
    "monolith rejected its arguments (exit 2): error: unexpected argument '-x' found",
  );
  assert.match(
    describeExit(101, null, "thread 'main' panicked at src/main.rs:10:5:\nboom\n").message,
    /^monolith crashed \(exit 101\): thread 'main' panicked/,
  );
  assert.equal(describeExit(null, 'SIGKILL', '').message, 'monolith was killed by SIGKILL (out of memory?)');
  assert.equal(describeExit(127, null, '/usr/bin/env: node: No such file or directory').code, 'monolith_unavailable');
  assert.equal(describeExit(1, null, '').message, 'monolith exited with code 1');
});

test('summarizeStderr keeps the last error lines, bounded', () => {
  assert.equal(summarizeStderr('a\nb\nc\n'), 'c');
  assert.equal(summarizeStderr('Error: one\nx\nError: two\nError: three\n'), 'Error: two / Error: three');
  assert.equal(summarizeStderr(`Error: ${'x'.repeat(1000)}`).length, 300);
});

test('buildMonolithArgs: URL mode with defaults (no JS, isolated, per-asset timeout)', () => {
  assert.deepEqual(buildMonolithArgs({ url: 'https://example.com/a?b=1' }), [
    '-j',
    '-I',
    '-t',
    '30',
    'https://example.com/a?b=1',
  ]);
});

test('buildMonolithArgs: every option maps to its flag', () => {
  assert.deepEqual(
    buildMonolithArgs({
      url: 'http://example.com',
      noJs: false,
      isolate: false,
      ignoreErrors: true,
      noMetadata: true,
      assetTimeoutSec: 7,
      userAgent: 'HTBase/1.0 (+https://x)',
    }),
    ['-e', '-M', '-t', '7', '--user-agent=HTBase/1.0 (+https://x)', 'http://example.com/'],
  );
  // A user agent starting with '-' stays one value.
  assert.ok(buildMonolithArgs({ url: 'http://example.com', userAgent: '-V' }).includes('--user-agent=-V'));
});

test('buildMonolithArgs: rendered-DOM mode reads stdin with the page URL as base', () => {
  assert.deepEqual(buildMonolithArgs({ url: 'https://example.com/post/1', stdinHtml: '<p>x</p>' }), [
    '-j',
    '-I',
    '-t',
    '30',
    '-b',
    'https://example.com/post/1',
    '-',
  ]);
  assert.deepEqual(
    buildMonolithArgs({
      url: 'https://example.com/post/1',
      baseUrl: 'https://cdn.example.com/',
      stdinHtml: Buffer.from('x'),
    }).slice(-3),
    ['-b', 'https://cdn.example.com/', '-'],
  );
});

test('buildMonolithArgs refuses what must never reach the CLI', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof PermanentError);
      return err.code;
    }
    return 'no error';
  };
  assert.equal(
    code(() => buildMonolithArgs({ url: 'file:///etc/passwd' })),
    'unsupported_scheme',
  );
  assert.equal(
    code(() => buildMonolithArgs({ url: '-V' })),
    'invalid_url',
  );
  assert.equal(
    code(() => buildMonolithArgs({ url: 'http://u:p@example.com/' })),
    'invalid_url',
  );
  assert.equal(
    code(() => buildMonolithArgs({ url: 'https://example.com', stdinHtml: 'x', baseUrl: 'file:///tmp/' })),
    'unsupported_scheme',
  );
  assert.equal(
    code(() => buildMonolithArgs({ url: 'https://example.com', assetTimeoutSec: 0.5 })),
    'invalid_config',
  );
  assert.equal(
    code(() => buildMonolithArgs({ url: 'https://example.com', userAgent: 'a\r\nX-Injected: 1' })),
    'invalid_config',
  );
});

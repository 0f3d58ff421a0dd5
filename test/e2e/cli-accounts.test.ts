// The htbase CLI's accounts and verify commands as a person runs them, on a fresh data directory (PGlite):
// users, scoped and expiring keys shown once, clear errors for bad input, and verify on an intact store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { tempDir } from '../support/embedded.ts';

const CLI = new URL('../../containers/standalone/cli/htbase.js', import.meta.url).pathname;
let dir: Awaited<ReturnType<typeof tempDir>>;

before(async () => {
  dir = await tempDir();
});
after(() => dir?.remove());

function htbase(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...process.env, HTBASE_DATA_DIR: dir.path, DATABASE_URL: '' }, timeout: 60_000 },
      (error, out, err) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, out, err }),
    );
  });
}

test('users and keys: created, listed with scope and expiry, bad input refused with a reason', async () => {
  const made = await htbase('user', 'create', 'alice', '--email', 'Alice@Example.org', '--admin');
  assert.equal(made.code, 0, made.err);
  assert.match(made.out, /created user alice \([0-9a-f-]{36}, admin\)/);
  const users = await htbase('user', 'list');
  assert.match(users.out, /admin\s+admin/);
  assert.match(users.out, /alice\s+admin\s+alice@example\.org/);

  const key = await htbase('apikey', 'create', 'reader', '--user', 'alice', '--scope', 'read', '--expires', '30d');
  assert.equal(key.code, 0, key.err);
  assert.match(key.out, /created read key ak_[0-9a-f]{12} \(reader\) for alice, expires 20\d\d-/);
  assert.match(key.out.trim().split('\n').pop()!, /^htb_[A-Za-z0-9_-]{43}$/, 'the key itself, on its own line');
  const listed = await htbase('apikey', 'list', '--user', 'alice');
  assert.match(listed.out, /reader\s+user=alice\s+read\s+created=\S+\s+expires=20\d\d-\S+\s+last-used=-\s+active/);
  assert.ok(!listed.out.includes('htb_'), 'a listing never shows a key');

  for (const [args, reason] of [
    [['apikey', 'create', 'x', '--user', 'nobody'], /no user "nobody"/],
    [['apikey', 'create', 'x'], /--user USER is required/],
    [['apikey', 'create', 'x', '--user', 'alice', '--scope', 'admin'], /--scope is read or write/],
    [['apikey', 'create', 'x', '--user', 'alice', '--expires', 'tomorrow'], /--expires takes 30d/],
    [['apikey', 'create', 'x', '--user', 'alice', '--expires', '2001-01-01'], /in the past/],
    [['user', 'create', 'alice'], /a user named "alice" exists/],
    [['user', 'create', '../evil'], /a user name is/],
    [['user', 'create', 'bob', '--nope'], /Unknown option/],
  ] as const) {
    const r = await htbase(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.match(r.out, reason);
  }
  const revoke = await htbase('apikey', 'revoke', listed.out.match(/ak_[0-9a-f]{12}/)![0]);
  assert.equal(revoke.code, 0);
  assert.match((await htbase('apikey', 'list')).out, /reader.*revoked/);
});

test('verify on an instance whose store is intact exits 0 and says what it checked', async () => {
  const r = await htbase('verify');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /checked 0 artifacts: 0 match, 0 do not/);
});

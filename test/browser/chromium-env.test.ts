// The launched browser (issue 16), real Chromium: its process environment holds none of the worker's
// credentials, a sandboxed launch really drops --no-sandbox, and `auto` launches where the sandbox cannot run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { BrowserPool } from '../../containers/browser/browser-pool.ts';
import { silentLogger } from '../../shared/core/logger.ts';

const logger = silentLogger();
const SECRET = 'postgres://capture:s3cret-in-env@db.internal/htbase';

test("Chromium's environment has no DATABASE_URL even when the worker's has", async () => {
  const before = process.env.DATABASE_URL;
  process.env.DATABASE_URL = SECRET;
  const pool = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH });
  try {
    await pool.browser();
    const environ = await readFile(`/proc/${pool.pid()}/environ`, 'utf8');
    assert.ok(environ.includes('PATH='), 'the environment was not read');
    assert.ok(!environ.includes(SECRET), 'the browser process holds the database URL');
  } finally {
    await pool.close();
    if (before === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = before;
  }
});

test(
  'as root, sandbox on is refused by Chromium itself, and auto runs without it',
  { skip: process.getuid?.() !== 0 },
  async () => {
    const on = new BrowserPool({
      logger,
      executablePath: process.env.CHROME_PATH,
      sandbox: true,
      launchTimeoutMs: 30_000,
    });
    try {
      await assert.rejects(on.browser());
    } finally {
      await on.close();
    }
    const auto = new BrowserPool({ logger, executablePath: process.env.CHROME_PATH, sandbox: 'auto' });
    try {
      const b = await auto.browser();
      assert.match(await b.version(), /Chrom/);
    } finally {
      await auto.close();
    }
  },
);

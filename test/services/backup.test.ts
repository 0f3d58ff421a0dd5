// `htbase backup` and `htbase restore` run as the CLI, on PostgreSQL 15 and on PGlite: backup, wipe (a new
// database and an empty data directory), restore gives back every row of every table and every file byte for
// byte (sha256 compared); a non-empty target and a damaged file are refused and change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../../shared/db/types.ts';
import { openDatabase } from '../../shared/db/connect.ts';
import { createArticle } from '../../shared/db/articles.ts';
import { claimArtifact, markSucceeded } from '../../shared/db/artifacts.ts';
import { upsertSummary } from '../../shared/db/summaries.ts';
import { createUser } from '../../shared/db/users.ts';
import { createApiKey } from '../../shared/auth/api-keys.ts';
import { createLocalBlobStore } from '../../shared/adapters/local-blob-store.ts';
import { FORMAT_FILES, storageKey, type Format } from '../../shared/core/formats.ts';
import { normalizeUrl } from '../../shared/core/url.ts';
import { freePort, startPostgres, type PostgresHandle } from '../support/services.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const CLI = join(ROOT, 'containers/standalone/cli/htbase.js');
const run = promisify(execFile);
const FORMATS: Format[] = ['singlefile', 'pdf', 'screenshot', 'readable', 'monolith'];

let pgh: PostgresHandle;
const dirs: string[] = [];
const tmp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `htbase-backup-${name}-`));
  dirs.push(d);
  return d;
};

before(async () => {
  pgh = await startPostgres({ database: 'postgres' });
});
after(async () => {
  await pgh?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The CLI as a person runs it; resolves with its exit code and output. */
async function cli(args: string[], env: Record<string, string>) {
  try {
    // PORT: nothing listens there, so the PGlite guard (a running server) does not trip.
    const r = await run(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', PORT: String(await freePort()), ...env },
      timeout: 120_000,
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

/** Archives with every format stored (random bytes, binary included), summaries, users, keys. */
async function populate(db: Kysely<Database>, dataDir: string): Promise<void> {
  const blobs = createLocalBlobStore({ root: join(dataDir, 'blobs') });
  const owner = await createUser(db, { name: `owner-${randomUUID().slice(0, 8)}`, email: 'o@example.org' });
  await createApiKey(db, 'laptop', { userId: owner.id });
  for (let i = 0; i < 3; i++) {
    const url = `https://example.org/article-${i}?q=${i}`;
    const id = randomUUID();
    await createArticle(db, {
      id,
      ownerId: owner.id,
      url,
      normalizedUrl: normalizeUrl(url),
      formats: FORMATS,
      dedupWindowSeconds: 0,
      force: true,
      leaseSeconds: 60,
    });
    for (const f of FORMATS) {
      await claimArtifact(db, id, f, 60);
      const body =
        f === 'readable'
          ? JSON.stringify({ title: `Article ${i}`, text: `Text of article ${i}. ${'word '.repeat(200)}` })
          : randomBytes(10_000 + i * 777);
      const stored = await blobs.put(storageKey(id, f), body, {
        contentType: FORMAT_FILES[f].contentType,
        metadata: { articleId: id, format: f },
      });
      await markSucceeded(db, id, f, {
        storageKey: stored.key,
        contentType: stored.contentType,
        sizeBytes: stored.size,
        sha256: stored.sha256,
      } as Parameters<typeof markSucceeded>[3]);
    }
    await upsertSummary(db, id, 'a'.repeat(64), {
      provider: 'extractive',
      model: null,
      summary: `Summary ${i}`,
      keyPoints: ['one', 'two'],
      tags: ['t'],
      lang: 'en',
    });
  }
}

/** Every row of every table (as jsonb text, sorted) and every stored file's sha256 and size. */
async function snapshot(db: Kysely<Database>, dataDir: string) {
  const { rows: tables } = await sql<{ t: string }>`SELECT tablename AS t FROM pg_tables
    WHERE schemaname = 'public' AND tablename NOT LIKE 'kysely_migration%' ORDER BY 1`.execute(db);
  const data: Record<string, string[]> = {};
  for (const { t } of tables) {
    const { rows } = await sql<{ r: string }>`SELECT to_jsonb(x)::text AS r FROM ${sql.id(t)} x ORDER BY 1`.execute(db);
    data[t] = rows.map((r) => r.r);
  }
  const files: Record<string, { sha256: string; size: number }> = {};
  const arts = await db.selectFrom('artifacts').select(['storage_key', 'sha256']).execute();
  for (const a of arts) {
    const bytes = readFileSync(join(dataDir, 'blobs', a.storage_key!));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    assert.equal(sha256, a.sha256, `${a.storage_key} matches its recorded sha256`);
    files[a.storage_key!] = { sha256, size: bytes.length };
  }
  return { data, files };
}

async function freshPgDatabase(name: string): Promise<string> {
  const c = new pg.Client({ connectionString: pgh.databaseUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await c.query(`CREATE DATABASE "${name}"`);
  await c.end();
  return pgh.databaseUrl.replace(/\/postgres$/, `/${name}`);
}

test('PostgreSQL: backup, wipe, restore gives back every archive and every file byte for byte', async () => {
  const url = await freshPgDatabase('source');
  const dataDir = tmp('pg-data');
  const h = await openDatabase({ databaseUrl: url, maxConnections: 2 });
  await populate(h.db, dataDir);
  const before = await snapshot(h.db, dataDir);
  await h.close();
  assert.equal(before.data.articles!.length, 3);
  assert.equal(Object.keys(before.files).length, 15);

  const file = join(tmp('pg-file'), 'htbase.backup');
  const b = await cli(['backup', file], { DATABASE_URL: url, HTBASE_DATA_DIR: dataDir });
  assert.equal(b.code, 0, b.err);
  assert.match(b.out, /backed up 3 archives .* and 15 files/);
  assert.equal(statSync(file).mode & 0o777, 0o600, 'the backup is readable by its owner only');

  // Wipe: a new database, an empty data directory.
  const target = await freshPgDatabase('target');
  const targetDir = tmp('pg-target');
  const r = await cli(['restore', file], { DATABASE_URL: target, HTBASE_DATA_DIR: targetDir });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /restored 3 archives/);
  const t = await openDatabase({ databaseUrl: target, maxConnections: 2 });
  try {
    const after = await snapshot(t.db, targetDir);
    assert.deepEqual(after.data, before.data, 'every row of every table');
    assert.deepEqual(after.files, before.files, 'every file byte for byte');
    // The restored instance works: search finds a restored article through its trigger-kept document.
    const found = await sql<{ n: number }>`SELECT count(*)::int AS n FROM articles
      WHERE search @@ plainto_tsquery('simple', 'article')`.execute(t.db);
    assert.ok(found.rows[0]!.n > 0);
  } finally {
    await t.close();
  }

  // A second restore into the now non-empty instance is refused and changes nothing.
  const again = await cli(['restore', file], { DATABASE_URL: target, HTBASE_DATA_DIR: targetDir });
  assert.equal(again.code, 1);
  assert.match(again.err, /already holds 3 archives: restore into an empty instance/);
});

test('a damaged or truncated backup is refused and the target stays empty', async () => {
  const url = await freshPgDatabase('damaged-src');
  const dataDir = tmp('dmg-data');
  const h = await openDatabase({ databaseUrl: url, maxConnections: 2 });
  await populate(h.db, dataDir);
  await h.close();
  const file = join(tmp('dmg-file'), 'b.backup');
  assert.equal((await cli(['backup', file], { DATABASE_URL: url, HTBASE_DATA_DIR: dataDir })).code, 0);
  const whole = readFileSync(file);
  const truncated = join(tmp('dmg-cut'), 'cut.backup');
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const notBackup = join(tmp('dmg-not'), 'x.backup');
  writeFileSync(notBackup, 'hello');

  for (const [f, why] of [
    [truncated, /damaged|incomplete|ends in the middle/],
    [notBackup, /damaged or not gzip|not an htbase backup/],
    [join(tmpdir(), `missing-${randomUUID()}`), /ENOENT|no such file/],
  ] as const) {
    const target = await freshPgDatabase('damaged-dst');
    const r = await cli(['restore', f], { DATABASE_URL: target, HTBASE_DATA_DIR: tmp('dmg-dst') });
    assert.equal(r.code, 1, `${f}: ${r.out}`);
    assert.match(r.err, why);
    const t = await openDatabase({ databaseUrl: target, maxConnections: 1 });
    const n = await sql<{ n: number }>`SELECT count(*)::int AS n FROM articles`.execute(t.db);
    const users = await sql<{ n: number }>`SELECT count(*)::int AS n FROM users`.execute(t.db);
    await t.close();
    assert.equal(n.rows[0]!.n, 0, 'nothing restored');
    assert.equal(users.rows[0]!.n, 1, 'the fresh instance keeps its first admin (the transaction rolled back)');
  }
});

test('PGlite: the same backup and restore without a database server', async () => {
  const dataDir = tmp('lite-data');
  const h = await openDatabase({ dataDir });
  await populate(h.db, dataDir);
  const before = await snapshot(h.db, dataDir);
  await h.close();

  const file = join(tmp('lite-file'), 'lite.backup');
  const b = await cli(['backup', file], { HTBASE_DATA_DIR: dataDir });
  assert.equal(b.code, 0, b.err);
  const targetDir = tmp('lite-target');
  const r = await cli(['restore', file], { HTBASE_DATA_DIR: targetDir });
  assert.equal(r.code, 0, r.err);
  const t = await openDatabase({ dataDir: targetDir });
  try {
    const after = await snapshot(t.db, targetDir);
    assert.deepEqual(after.data, before.data, 'every row of every table');
    assert.deepEqual(after.files, before.files, 'every file byte for byte');
  } finally {
    await t.close();
  }
});

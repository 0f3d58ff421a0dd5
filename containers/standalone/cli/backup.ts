// `htbase backup FILE` and `htbase restore FILE`: every table and every stored artifact, read in one snapshot
// (REPEATABLE READ) through kysely, so the same code serves PostgreSQL and PGlite; restored into an empty instance
// in one transaction, each file checked against its sha256 on the way in and on the way out.
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { createGunzip, createGzip } from 'node:zlib';
import { finished } from 'node:stream/promises';
import { sql, type Kysely, type Transaction } from 'kysely';
import { BaseConfig, loadConfig } from '../../../shared/core/config.ts';
import { silentLogger } from '../../../shared/core/logger.ts';
import { openDatabase } from '../../../shared/db/connect.ts';
import { migrations } from '../../../shared/db/migrations/index.ts';
import { blobStoreFor } from '../../../shared/adapters/deps.ts';
import type { BlobStore } from '../../../shared/core/ports.ts';
import { BACKUP_FORMAT, BACKUP_VERSION, BackupFormatError, backupWriter, readBackup } from './backup-file.ts';

type Out = (s: string) => void;
/** The migrator's own bookkeeping: the target instance keeps its own. */
const SKIP = new Set(['kysely_migration', 'kysely_migration_lock']);
const BATCH = 500;

export class BackupError extends Error {
  override name = 'BackupError';
}

/** Public tables, referenced ones first (foreign keys), so rows insert in this order. */
async function tablesInOrder(db: Kysely<any>): Promise<string[]> {
  const { rows: tables } = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`.execute(db);
  const { rows: fks } = await sql<{ child: string; parent: string }>`
    SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
    WHERE c.contype = 'f' AND n.nspname = 'public'`.execute(db);
  const names = tables.map((t) => t.name).filter((t) => !SKIP.has(t));
  const order: string[] = [];
  const visit = (t: string, path: Set<string>) => {
    if (order.includes(t) || path.has(t)) return;
    path.add(t);
    for (const f of fks) if (f.child === t && f.parent !== t) visit(f.parent, path);
    order.push(t);
  };
  for (const t of names) visit(t, new Set());
  return order.filter((t) => names.includes(t));
}

async function appliedMigrations(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
  return rows.map((r) => r.name);
}

/** Columns a restore may write: not generated (PostgreSQL computes those). */
async function writableColumns(db: Kysely<any>, table: string): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT a.attname AS name FROM pg_attribute a
    WHERE a.attrelid = ${table}::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
    ORDER BY a.attnum`.execute(db);
  return rows.map((r) => r.name);
}

const ident = (s: string) => sql.id(s);

/** Writes the backup to FILE (via FILE.partial, renamed once complete). */
export async function backup(db: Kysely<any>, blobs: BlobStore, file: string, out: Out): Promise<void> {
  const partial = `${file}.partial`;
  const gzip = createGzip();
  const sink = createWriteStream(partial, { mode: 0o600 }); // it holds API key hashes and every archive
  gzip.pipe(sink);
  const w = backupWriter(gzip);
  const counts: Record<string, number> = {};
  let files = 0;
  try {
    // One snapshot: the rows and the list of files are what the database held at one moment.
    await db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const tables = await tablesInOrder(trx);
        await w.record({
          kind: 'header',
          format: BACKUP_FORMAT,
          version: BACKUP_VERSION,
          createdAt: new Date().toISOString(),
          migrations: await appliedMigrations(trx),
          tables,
        });
        for (const t of tables) {
          counts[t] = 0;
          for (let offset = 0; ; offset += BATCH) {
            const { rows } = await sql<{ r: Record<string, unknown> }>`
              SELECT to_jsonb(t) AS r FROM ${ident(t)} t ORDER BY ctid LIMIT ${BATCH} OFFSET ${offset}`.execute(trx);
            if (!rows.length) break;
            await w.record({ kind: 'rows', table: t, rows: rows.map((x) => x.r) });
            counts[t] += rows.length;
          }
        }
        const stored = await sql<{
          key: string;
          size: string;
          sha256: string;
          type: string;
          article_id: string;
          format: string;
        }>`
          SELECT storage_key AS key, size_bytes AS size, sha256, content_type AS type, article_id, format
          FROM artifacts WHERE status = 'succeeded' AND storage_key IS NOT NULL ORDER BY storage_key`.execute(trx);
        for (const a of stored.rows) {
          const info = await blobs.stat(a.key);
          if (!info) throw new BackupError(`${a.key} (${a.format} of ${a.article_id}) is missing from the store`);
          await w.blob(
            {
              kind: 'blob',
              key: a.key,
              size: Number(a.size),
              sha256: a.sha256,
              contentType: a.type ?? info.contentType,
              metadata: { ...info.metadata, articleId: a.article_id, format: a.format },
            },
            await blobs.get(a.key),
          );
          files++;
        }
      });
    await w.record({ kind: 'end', rows: counts, blobs: files });
    gzip.end();
    await finished(sink);
    renameSync(partial, file);
  } catch (err) {
    gzip.destroy();
    sink.destroy();
    rmSync(partial, { force: true });
    throw err;
  }
  const rows = Object.values(counts).reduce((a, b) => a + b, 0);
  out(
    `backed up ${counts.articles ?? 0} archives (${rows} rows in ${Object.keys(counts).length} tables) and ${files} files to ${file}`,
  );
}

/** Restores FILE into this instance, which must hold no archive; all or nothing for the database. */
export async function restore(db: Kysely<any>, blobs: BlobStore, file: string, out: Out): Promise<void> {
  const known = new Set(Object.keys(migrations));
  const input = createReadStream(file).pipe(createGunzip());
  // A damaged file can fail the gunzip before the first record is read (while the emptiness check runs): keep
  // that error for the answer below rather than letting an unheard 'error' event end the process.
  let inputError: NodeJS.ErrnoException | undefined;
  input.on('error', (err) => (inputError ??= err));
  let summary = { rows: 0, files: 0, archives: 0 };
  try {
    await db.transaction().execute(async (trx) => {
      const { rows: existing } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM articles`.execute(trx);
      if (existing[0]!.n > 0)
        throw new BackupError(
          `this instance already holds ${existing[0]!.n} archives: restore into an empty instance (a new database and data directory)`,
        );
      const rowCounts: Record<string, number> = {};
      let files = 0;
      let tables: string[] = [];
      let ended = false;
      for await (const r of readBackup(input)) {
        if (ended) throw new BackupFormatError('records after the end of the backup');
        if (r.kind === 'header') {
          const unknown = r.migrations.filter((m) => !known.has(m));
          if (unknown.length)
            throw new BackupError(
              `the backup comes from a newer htbase (migrations ${unknown.join(', ')}): upgrade first`,
            );
          tables = r.tables;
          // Empty, but a fresh instance has its first admin (migration 0004): the backup's people replace it.
          for (const t of [...tables].reverse()) await sql`DELETE FROM ${ident(t)}`.execute(trx);
        } else if (r.kind === 'rows') {
          if (!tables.includes(r.table)) throw new BackupFormatError(`rows of an undeclared table ${r.table}`);
          await insertRows(trx, r.table, r.rows);
          rowCounts[r.table] = (rowCounts[r.table] ?? 0) + r.rows.length;
        } else if (r.kind === 'blob') {
          await blobs.put(r.key, r.bytes, { contentType: r.contentType, metadata: r.metadata });
          files++;
        } else {
          for (const t of tables)
            if ((rowCounts[t] ?? 0) !== (r.rows[t] ?? 0)) throw new BackupFormatError(`rows of ${t} are missing`);
          if (files !== r.blobs) throw new BackupFormatError('files are missing from the backup');
          ended = true;
          summary = {
            rows: Object.values(rowCounts).reduce((a, b) => a + b, 0),
            files,
            archives: rowCounts.articles ?? 0,
          };
        }
      }
      if (!ended) throw new BackupFormatError('the backup file is incomplete (no end record)');
      await resetSequences(trx, tables);
    });
  } catch (err) {
    input.destroy();
    const cause = (inputError ?? err) as NodeJS.ErrnoException;
    if (cause.code === 'Z_DATA_ERROR' || cause.message === 'unexpected end of file')
      throw new BackupFormatError('the backup file is damaged or not gzip');
    throw err;
  }
  out(`restored ${summary.archives} archives (${summary.rows} rows) and ${summary.files} files from ${file}`);
}

async function insertRows(trx: Transaction<any>, table: string, rows: Record<string, unknown>[]): Promise<void> {
  if (!rows.length) return;
  // Only columns the backup has and this schema writes: a column added since keeps its default.
  const present = new Set(rows.flatMap((r) => Object.keys(r)));
  const cols = (await writableColumns(trx, table)).filter((c) => present.has(c));
  const list = sql.join(cols.map(ident));
  await sql`INSERT INTO ${ident(table)} (${list}) OVERRIDING SYSTEM VALUE
    SELECT ${list} FROM jsonb_populate_recordset(null::${ident(table)}, ${JSON.stringify(rows)}::jsonb)`.execute(trx);
}

/** Serial and identity columns continue after the restored rows. */
async function resetSequences(trx: Transaction<any>, tables: string[]): Promise<void> {
  for (const t of tables) {
    for (const c of await writableColumns(trx, t)) {
      const { rows } = await sql<{ seq: string | null }>`SELECT pg_get_serial_sequence(${t}, ${c}) AS seq`.execute(trx);
      const seq = rows[0]?.seq;
      if (!seq) continue;
      await sql`SELECT setval(${seq}, COALESCE((SELECT max(${ident(c)}) FROM ${ident(t)}), 0) + 1, false)`.execute(trx);
    }
  }
}

async function serverRunning(port: string): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

export async function runBackupCommand(cmd: 'backup' | 'restore', args: string[], out: Out): Promise<number> {
  const file = args.find((a) => !a.startsWith('-'));
  if (!file) throw new BackupError(`usage: htbase ${cmd} FILE`);
  const config = loadConfig(BaseConfig, process.env);
  // PGlite is one process's database: a second opener next to a running server would corrupt it.
  if (!config.DATABASE_URL && (await serverRunning(process.env.PORT ?? '8080')))
    throw new BackupError(`stop the HT Base server first: its PGlite database cannot be opened twice`);
  const h = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.HTBASE_DATA_DIR });
  try {
    const blobs = blobStoreFor(config, silentLogger());
    if (cmd === 'backup') await backup(h.db, blobs, file, out);
    else await restore(h.db, blobs, file, out);
    return 0;
  } finally {
    await h.close();
  }
}

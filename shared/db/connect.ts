// Opens the database: PGlite in the data directory (embedded) or node-postgres against a server,
// behind the same kysely PostgresDialect, and applies migrations at start-up.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, type MigrationProvider } from 'kysely';
import type { Database } from './types.ts';
import { migrations } from './migrations/index.ts';

// bigint (int8) and numeric come back as strings by default; our bigints are counters and byte sizes.
pg.types.setTypeParser(20, (v) => Number(v));

export interface OpenDatabaseOptions {
  /** postgres://… to use a server; unset selects PGlite. */
  databaseUrl?: string;
  /** PGlite's directory (archives survive a restart); ignored with databaseUrl. */
  dataDir?: string;
  /** PGlite in memory (tests). */
  memory?: boolean;
  /** Pool size for a server connection. */
  maxConnections?: number;
  migrate?: boolean;
  /** Told about idle connections the server dropped (they are replaced on the next query). */
  onIdleError?: (err: Error) => void;
}

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: 'postgres' | 'pglite';
  close(): Promise<void>;
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

async function migrateToLatest(db: Kysely<any>): Promise<void> {
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`migration ${failed?.migrationName ?? ''} failed`, { cause: error });
  }
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<DatabaseHandle> {
  let handle: DatabaseHandle;
  if (opts.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.maxConnections ?? 10,
      connectionTimeoutMillis: 10_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: 30_000,
    });
    // An idle client whose server connection drops (failover, restart, shutdown) emits 'error' on the pool;
    // unhandled, it would crash the process. The pool discards that client and the next query reconnects.
    pool.on('error', (err) => opts.onIdleError?.(err));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    handle = { db, kind: 'postgres', close: () => db.destroy() };
  } else {
    const { PGlite } = await import('@electric-sql/pglite');
    const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
    let dir: string | undefined;
    if (!opts.memory) {
      if (!opts.dataDir) throw new Error('openDatabase: dataDir or memory is required without databaseUrl');
      dir = join(opts.dataDir, 'pglite');
      mkdirSync(dir, { recursive: true });
    }
    // pg_trgm backs the search's fallback for partial words and URLs (migration 0005).
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    // btree_gin: the owner-and-text index of migration 0007.
    const { btree_gin } = await import('@electric-sql/pglite/contrib/btree_gin');
    const pglite = await PGlite.create({ ...(dir ? { dataDir: dir } : {}), extensions: { pg_trgm, btree_gin } });
    const pool = new pg.Pool(createPgConfig(pglite) as unknown as pg.PoolConfig);
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    handle = {
      db,
      kind: 'pglite',
      close: async () => {
        await db.destroy();
        await pglite.close();
      },
    };
  }
  if (opts.migrate !== false) {
    try {
      await migrateToLatest(handle.db);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }
  return handle;
}

// The capture workers' database role (issue 16): `htbase_capture` may read and update articles and artifacts
// and nothing of the API's secrets (api_keys, users, share_links). Real PostgreSQL only: PGlite is one process
// with one user, where a role would guard nothing.
import { sql, type Kysely } from 'kysely';

export const CAPTURE_ROLE = 'htbase_capture';

/**
 * What a capture worker does (shared/capture/worker.ts): claim, renew, release and finish artifacts, add an
 * `original`, write page metadata onto its article and bump its version. The article's search trigger reads
 * summaries and search_languages; the start-up migration check reads kysely's tables (it only writes when a
 * migration is pending, which a worker never applies: run migrations as the owner).
 */
const GRANTS: ReadonlyArray<[table: string, privileges: string]> = [
  ['articles', 'select, update'],
  ['artifacts', 'select, insert, update'],
  ['summaries', 'select'],
  ['search_languages', 'select'],
  ['kysely_migration', 'select'],
  ['kysely_migration_lock', 'select, update'],
];

async function isPglite(db: Kysely<any>): Promise<boolean> {
  const { rows } = await sql<{ v: string }>`select version() as v`.execute(db);
  return /PGlite/i.test(rows[0]?.v ?? '');
}

export async function up(db: Kysely<any>): Promise<void> {
  if (await isPglite(db)) return;
  // Roles are cluster-wide: another database of the cluster may have made it already.
  await sql`do $$ begin
      if not exists (select 1 from pg_roles where rolname = ${sql.lit(CAPTURE_ROLE)}) then
        create role ${sql.id(CAPTURE_ROLE)} nologin;
      end if;
    end $$`.execute(db);
  await sql`grant usage on schema public to ${sql.id(CAPTURE_ROLE)}`.execute(db);
  for (const [table, privileges] of GRANTS) {
    await sql`grant ${sql.raw(privileges)} on ${sql.table(table)} to ${sql.id(CAPTURE_ROLE)}`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  if (await isPglite(db)) return;
  for (const [table] of GRANTS) await sql`revoke all on ${sql.table(table)} from ${sql.id(CAPTURE_ROLE)}`.execute(db);
  await sql`revoke usage on schema public from ${sql.id(CAPTURE_ROLE)}`.execute(db);
  // The role itself stays: other databases of the cluster may still grant it something.
}

// Capture from the person's browser (issue 13): pages uploaded from SingleFile (their derived formats render the
// stored file, never the live URL) and each user's cookies for logged-in capture, encrypted per site.
import { sql, type Kysely } from 'kysely';
import { CAPTURE_ROLE } from './0006_capture_role.ts';

export async function up(db: Kysely<any>): Promise<void> {
  // A row here marks the article as an upload: the worker renders its stored singlefile offline, whoever
  // (first job, retry, sweeper) asks for the derived formats.
  await db.schema
    .createTable('uploaded_pages')
    .addColumn('article_id', 'uuid', (c) => c.primaryKey().references('articles.id').onDelete('cascade'))
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One row per user and cookie domain; `sealed` is AES-256-GCM (iv | tag | ciphertext) of the JSON cookie list,
  // bound to (user, domain) as associated data so a row copied to another user or site does not decrypt.
  await db.schema
    .createTable('user_cookies')
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('domain', 'text', (c) => c.notNull())
    .addColumn('sealed', 'bytea', (c) => c.notNull())
    .addColumn('cookie_count', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('user_cookies_pk', ['user_id', 'domain'])
    .execute();
  // The capture workers' limited role (0006, real PostgreSQL only) reads both: whether an article is an upload,
  // and the sealed cookies of the article's owner (the key to open them is the worker's secret, not the table's).
  await sql`do $$ begin
      if exists (select 1 from pg_roles where rolname = ${sql.lit(CAPTURE_ROLE)}) then
        grant select on uploaded_pages, user_cookies to ${sql.id(CAPTURE_ROLE)};
      end if;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('user_cookies').execute();
  await db.schema.dropTable('uploaded_pages').execute();
}

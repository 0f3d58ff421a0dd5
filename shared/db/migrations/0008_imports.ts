// Imports (issue 13): one `imports` row per uploaded file and one `import_items` row per distinct page in it
// (or per bad line), so a long import is drained by the queuer at its own pace and resumes after a restart.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('imports')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('owner_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('filename', 'text')
    // The capture formats each page is archived in (the same default as POST /archive: all).
    .addColumn('formats', sql`text[]`, (c) => c.notNull())
    // Lines of the file: distinct pages + bad lines + lines merged into an earlier one (`merged`).
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('merged', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index imports_owner_created_idx on imports (owner_id, created_at desc)`.execute(db);

  await db.schema
    .createTable('import_items')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('import_id', 'uuid', (c) => c.notNull().references('imports.id').onDelete('cascade'))
    // Order in the file: the queuer drains each import front to back.
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('line', 'integer', (c) => c.notNull())
    .addColumn('merged_lines', sql`integer[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('normalized_url', 'text')
    .addColumn('host', 'text')
    .addColumn('title', 'text')
    .addColumn('saved_at', 'timestamptz')
    .addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('note', 'text')
    // waiting -> claimed -> queued -> archived | failed; or waiting -> duplicate (of an archive already there)
    // or failed (refused by the guard); bad lines start failed.
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('claimed_until', 'timestamptz')
    .addColumn('article_id', 'uuid', (c) => c.references('articles.id').onDelete('set null'))
    .addColumn('queued_at', 'timestamptz')
    .addCheckConstraint(
      'import_items_state_check',
      sql`state in ('waiting','claimed','queued','archived','duplicate','failed')`,
    )
    .execute();
  await sql`create index import_items_import_idx on import_items (import_id, position)`.execute(db);
  // The queuer's reads: what waits, in order; what is in flight, per host.
  await sql`create index import_items_waiting_idx on import_items (import_id, position) where state = 'waiting'`.execute(
    db,
  );
  await sql`create index import_items_inflight_idx on import_items (host) where state in ('claimed','queued')`.execute(
    db,
  );
  await sql`create index import_items_article_idx on import_items (article_id) where article_id is not null`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('import_items').ifExists().execute();
  await db.schema.dropTable('imports').ifExists().execute();
}

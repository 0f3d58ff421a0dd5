// Initial schema: articles, artifacts, summaries, processed events (idempotency), API keys.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('articles')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('normalized_url', 'text', (c) => c.notNull())
    .addColumn('final_url', 'text')
    .addColumn('canonical_url', 'text')
    .addColumn('http_status', 'integer')
    .addColumn('title', 'text')
    .addColumn('site_name', 'text')
    .addColumn('byline', 'text')
    .addColumn('lang', 'text')
    .addColumn('excerpt', 'text')
    .addColumn('favicon_url', 'text')
    .addColumn('word_count', 'integer')
    .addColumn('text_content', 'text')
    .addColumn('warnings', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('idempotency_key', 'text')
    // Millisecond precision: keyset cursors round-trip through JavaScript Dates.
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('articles_status_check', sql`status in ('pending','running','complete','partial','failed')`)
    .execute();
  // Full-text search over title and readable text; `simple` keeps it language-neutral.
  await sql`alter table articles add column search tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
      setweight(to_tsvector('simple', coalesce(left(text_content, 200000), '')), 'B')) stored`.execute(db);
  await sql`create index articles_search_idx on articles using gin (search)`.execute(db);
  await sql`create index articles_normalized_url_idx on articles (normalized_url, created_at desc)`.execute(db);
  await sql`create index articles_created_idx on articles (created_at desc, id desc)`.execute(db);
  await sql`create unique index articles_idempotency_idx on articles (idempotency_key) where idempotency_key is not null`.execute(
    db,
  );

  await db.schema
    .createTable('artifacts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('article_id', 'uuid', (c) => c.notNull().references('articles.id').onDelete('cascade'))
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('pending'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('storage_key', 'text')
    .addColumn('content_type', 'text')
    .addColumn('size_bytes', 'bigint')
    .addColumn('sha256', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('engine_version', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addUniqueConstraint('artifacts_article_format_key', ['article_id', 'format'])
    .addCheckConstraint('artifacts_status_check', sql`status in ('pending','running','succeeded','failed','skipped')`)
    .execute();
  await sql`create index artifacts_stuck_idx on artifacts (status, lease_until) where status in ('pending','running')`.execute(
    db,
  );

  await db.schema
    .createTable('summaries')
    .addColumn('article_id', 'uuid', (c) => c.primaryKey().references('articles.id').onDelete('cascade'))
    .addColumn('provider', 'text', (c) => c.notNull())
    .addColumn('model', 'text')
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('key_points', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('tags', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('lang', 'text')
    .addColumn('input_sha256', 'text', (c) => c.notNull())
    .addColumn('input_tokens', 'integer')
    .addColumn('output_tokens', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('processed_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const t of ['api_keys', 'processed_events', 'summaries', 'artifacts', 'articles']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}

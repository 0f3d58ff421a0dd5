// Rate limits on the database (issue 18): one row per key holding the allowed hits still inside its sliding
// window, so shared/adapters/pg-rate-limiter.ts can decide a hit atomically in one upsert.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Times are epoch milliseconds from the database's clock, like the Redis limiter's TIME. No index on
  // expires_ms: the table holds one row per recently active key and is swept rarely, and an index on a column
  // every hit rewrites would cost each hit an index update.
  await db.schema
    .createTable('rate_limits')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('hits', sql`bigint[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    .addColumn('allowed', 'boolean', (c) => c.notNull())
    .addColumn('expires_ms', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limits').ifExists().execute();
}

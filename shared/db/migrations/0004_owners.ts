// Owners: a users table, an owner on every article and API key (scoped, expiring keys), share links.
// Rows that existed before go to a first admin user, so an upgraded instance keeps working as it did.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('email', 'text', (c) => c.unique())
    // The Firebase Authentication / Identity Platform uid the person signs in with (web and mobile app).
    .addColumn('firebase_uid', 'text', (c) => c.unique())
    .addColumn('role', 'text', (c) => c.notNull().defaultTo('member'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('users_role_check', sql`role in ('admin','member')`)
    .execute();
  await sql`insert into users (name, role) values ('admin', 'admin')`.execute(db);
  const admin = sql`(select id from users where name = 'admin')`;

  await sql`alter table articles add column owner_id uuid references users(id) on delete cascade`.execute(db);
  await sql`update articles set owner_id = ${admin}`.execute(db);
  await sql`alter table articles alter column owner_id set not null`.execute(db);
  // Lists, dedup and Idempotency-Key are per owner: every index the API reads with leads with the owner.
  await sql`drop index articles_idempotency_idx`.execute(db);
  await sql`create unique index articles_owner_idempotency_idx on articles (owner_id, idempotency_key)
      where idempotency_key is not null`.execute(db);
  await sql`create index articles_owner_created_idx on articles (owner_id, created_at desc, id desc)`.execute(db);
  await sql`create index articles_owner_url_idx on articles (owner_id, normalized_url, created_at desc)`.execute(db);

  await sql`alter table api_keys add column user_id uuid references users(id) on delete cascade`.execute(db);
  await sql`update api_keys set user_id = ${admin}`.execute(db);
  await sql`alter table api_keys alter column user_id set not null`.execute(db);
  await sql`alter table api_keys add column scope text not null default 'write'
      constraint api_keys_scope_check check (scope in ('read','write'))`.execute(db);
  await sql`alter table api_keys add column expires_at timestamptz`.execute(db);
  await sql`alter table api_keys add column last_used_at timestamptz`.execute(db);

  await db.schema
    .createTable('share_links')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Only the sha256 of the token is kept: the link is a credential, shown once.
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('article_id', 'uuid', (c) => c.notNull().references('articles.id').onDelete('cascade'))
    .addColumn('owner_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await sql`create index share_links_article_idx on share_links (article_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('share_links').ifExists().execute();
  await sql`drop index if exists articles_owner_url_idx`.execute(db);
  await sql`drop index if exists articles_owner_created_idx`.execute(db);
  await sql`drop index if exists articles_owner_idempotency_idx`.execute(db);
  await sql`create unique index articles_idempotency_idx on articles (idempotency_key)
      where idempotency_key is not null`.execute(db);
  for (const c of ['last_used_at', 'expires_at', 'scope', 'user_id'])
    await sql`alter table api_keys drop column if exists ${sql.ref(c)}`.execute(db);
  await sql`alter table articles drop column if exists owner_id`.execute(db);
  await db.schema.dropTable('users').ifExists().execute();
}

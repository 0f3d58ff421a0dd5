// The library's own columns (issue 12): a person's tags and note on an archive (searched like the summary), the
// site each archive is from, and the indexes that keep the library's filters (tag, site, date) index-backed.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The generated column rewrites the table: on a large library that outlasts the pool's statement timeout.
  // Migrations run in one transaction each, so this lifts the limit for this migration only.
  await sql`set local statement_timeout = 0`.execute(db);
  // `tags` holds the summary's tags until the owner edits them (tags_edited), then the owner's own list: one
  // column to filter and show, whoever wrote it. `site` is the URL's host without `www.`, for the site filter.
  await sql`alter table articles
      add column tags text[] not null default '{}',
      add column tags_edited boolean not null default false,
      add column note text,
      add column site text generated always as (
        regexp_replace(substring(normalized_url from '^[a-z][a-z0-9+.-]*://(?:[^@/?#]*@)?([^/:?#]+)'), '^www\\.', '')
      ) stored`.execute(db);
  await sql`update articles a set tags = coalesce((
      select array(select jsonb_array_elements_text(s.tags)) from summaries s
        where s.article_id = a.id and jsonb_typeof(s.tags) = 'array'), '{}')`.execute(db);
  await sql`create index articles_tags_idx on articles using gin (tags)`.execute(db);
  await sql`create index articles_owner_site_created_idx on articles (owner_id, site, created_at desc, id desc)`.execute(
    db,
  );

  // The text index leads with the owner (btree_gin): one owner's matches come out of the index, not all owners'.
  await sql`create extension if not exists btree_gin`.execute(db);
  await sql`create index articles_owner_search_idx on articles using gin (owner_id, search)`.execute(db);
  // The planner's estimates of an owner's matches and archives, read by shared/db/search.ts walkNewest to pick
  // how it finds the newest matches. EXPLAIN plans without running: a millisecond, whatever the library's size.
  // Volatile only because Postgres allows EXPLAIN in no other kind of function; it changes nothing.
  await sql`create function htbase_search_estimate(owner uuid, tq tsquery, out matches float8, out owned float8)
      language plpgsql volatile as $$
      declare plan json;
      begin
        if owner is null then
          execute format('explain (format json) select 1 from articles where search @@ %L::tsquery', tq) into plan;
          matches := (plan->0->'Plan'->>'Plan Rows')::float8;
          execute 'explain (format json) select 1 from articles' into plan;
        else
          execute format('explain (format json) select 1 from articles where owner_id = %L::uuid
              and search @@ %L::tsquery', owner, tq) into plan;
          matches := (plan->0->'Plan'->>'Plan Rows')::float8;
          execute format('explain (format json) select 1 from articles where owner_id = %L::uuid', owner) into plan;
        end if;
        owned := (plan->0->'Plan'->>'Plan Rows')::float8;
      end
    $$`.execute(db);

  // The owner's tags and note join the search document with the summary's weight (B).
  await sql`create function htbase_search_owner_part(cfg regconfig, tags text[], note text)
      returns tsvector language sql immutable as $$
      select setweight(to_tsvector(cfg, array_to_string(coalesce(tags, '{}'), ' ') || ' ' || coalesce(note, '')), 'B')
    $$`.execute(db);
  await sql`create or replace function articles_search_refresh() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' or new.lang is distinct from old.lang then
          new.search_config := htbase_search_config(new.lang);
        end if;
        new.search := htbase_search_document(new.search_config, new.title, new.text_content, new.normalized_url, new.id)
          || case when new.tags_edited or new.note is not null
               then htbase_search_owner_part(new.search_config, new.tags, new.note) else ''::tsvector end;
        return new;
      end
    $$`.execute(db);
  await sql`drop trigger articles_search_update on articles`.execute(db);
  await sql`create trigger articles_search_update before update of title, text_content, lang, normalized_url, tags, note
      on articles for each row
      when (old.title is distinct from new.title or old.text_content is distinct from new.text_content
        or old.lang is distinct from new.lang or old.normalized_url is distinct from new.normalized_url
        or old.tags is distinct from new.tags or old.note is distinct from new.note)
      execute function articles_search_refresh()`.execute(db);

  // A new summary's tags become the archive's tags unless its owner has edited them; its text is re-indexed.
  await sql`create or replace function summaries_search_refresh() returns trigger language plpgsql as $$
      declare aid uuid := case when tg_op = 'DELETE' then old.article_id else new.article_id end;
      begin
        update articles a
          set tags = case when a.tags_edited then a.tags
                when tg_op = 'DELETE' or jsonb_typeof(new.tags) is distinct from 'array' then '{}'
                else array(select jsonb_array_elements_text(new.tags)) end,
            search = htbase_search_document(a.search_config, a.title, a.text_content, a.normalized_url, a.id)
              || case when a.tags_edited or a.note is not null
                   then htbase_search_owner_part(a.search_config, a.tags, a.note) else ''::tsvector end
          where a.id = aid;
        return null;
      end
    $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create or replace function summaries_search_refresh() returns trigger language plpgsql as $$
      declare aid uuid := case when tg_op = 'DELETE' then old.article_id else new.article_id end;
      begin
        update articles a
          set search = htbase_search_document(a.search_config, a.title, a.text_content, a.normalized_url, a.id)
          where a.id = aid;
        return null;
      end
    $$`.execute(db);
  await sql`drop trigger articles_search_update on articles`.execute(db);
  await sql`create trigger articles_search_update before update of title, text_content, lang, normalized_url
      on articles for each row
      when (old.title is distinct from new.title or old.text_content is distinct from new.text_content
        or old.lang is distinct from new.lang or old.normalized_url is distinct from new.normalized_url)
      execute function articles_search_refresh()`.execute(db);
  await sql`create or replace function articles_search_refresh() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' or new.lang is distinct from old.lang then
          new.search_config := htbase_search_config(new.lang);
        end if;
        new.search := htbase_search_document(new.search_config, new.title, new.text_content, new.normalized_url, new.id);
        return new;
      end
    $$`.execute(db);
  await sql`drop function if exists htbase_search_owner_part(regconfig, text[], text)`.execute(db);
  await sql`drop function if exists htbase_search_estimate(uuid, tsquery)`.execute(db);
  await sql`drop index if exists articles_owner_search_idx`.execute(db);
  await sql`drop index if exists articles_owner_site_created_idx`.execute(db);
  await sql`drop index if exists articles_tags_idx`.execute(db);
  await sql`alter table articles drop column site, drop column note, drop column tags_edited, drop column tags`.execute(
    db,
  );
}

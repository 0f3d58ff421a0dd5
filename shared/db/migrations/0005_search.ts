// Ranked, language-aware search (issue 12): each article's text search configuration chosen from its `lang`, a
// `search` tsvector over title, summary, key points, tags, readable text and URL kept by triggers, trigram indexes.
import { sql, type Kysely } from 'kysely';

// ISO 639-1 code -> the snowball configuration Postgres ships; rows whose configuration this server lacks
// (estonian before PostgreSQL 16) are skipped, so those languages fall back to `simple`.
const LANGUAGES: ReadonlyArray<[string, string]> = [
  ['ar', 'arabic'],
  ['hy', 'armenian'],
  ['eu', 'basque'],
  ['ca', 'catalan'],
  ['da', 'danish'],
  ['nl', 'dutch'],
  ['en', 'english'],
  ['et', 'estonian'],
  ['fi', 'finnish'],
  ['fr', 'french'],
  ['de', 'german'],
  ['el', 'greek'],
  ['hi', 'hindi'],
  ['hu', 'hungarian'],
  ['id', 'indonesian'],
  ['ga', 'irish'],
  ['it', 'italian'],
  ['lt', 'lithuanian'],
  ['ne', 'nepali'],
  ['no', 'norwegian'],
  ['nb', 'norwegian'],
  ['nn', 'norwegian'],
  ['pt', 'portuguese'],
  ['ro', 'romanian'],
  ['ru', 'russian'],
  ['sr', 'serbian'],
  ['es', 'spanish'],
  ['sv', 'swedish'],
  ['ta', 'tamil'],
  ['tr', 'turkish'],
  ['yi', 'yiddish'],
];

export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);

  // A table rather than a CASE: the query side ORs the query over every configuration in use (one lookup).
  await sql`create table search_languages (code text primary key, config regconfig not null)`.execute(db);
  const codes = LANGUAGES.flatMap(([code, name]) => [sql`(${code}, ${name})`, sql`(${name}, ${name})`]);
  await sql`insert into search_languages (code, config)
      select distinct on (v.code) v.code, c.oid::regconfig
        from (values ${sql.join(codes)}) as v(code, name)
        join pg_ts_config c on c.cfgname = v.name and c.cfgnamespace = 'pg_catalog'::regnamespace`.execute(db);

  // 'fr', 'fr-FR', 'fr_CA', 'French' -> french; unknown or absent -> simple.
  await sql`create function htbase_search_config(lang text) returns regconfig language sql stable as $$
      select coalesce(
        (select config from search_languages
          where code = lower(split_part(replace(btrim(lang), '_', '-'), '-', 1))),
        'simple'::regconfig)
    $$`.execute(db);

  // The document. Weights: title A, summary/key points/tags B, text C, URL D (as words and as URL tokens).
  // It reads the summaries table, which a generated column cannot: triggers keep it current instead.
  await sql`create function htbase_search_document(cfg regconfig, title text, body text, url text, aid uuid)
      returns tsvector language sql stable as $$
      select setweight(to_tsvector(cfg, coalesce(title, '')), 'A')
        || setweight(to_tsvector(cfg, coalesce((
             select concat_ws(' ', s.summary,
               (select string_agg(v, ' ') from jsonb_array_elements_text(
                  case jsonb_typeof(s.key_points) when 'array' then s.key_points else '[]'::jsonb end) v),
               (select string_agg(v, ' ') from jsonb_array_elements_text(
                  case jsonb_typeof(s.tags) when 'array' then s.tags else '[]'::jsonb end) v))
             from summaries s where s.article_id = aid), '')), 'B')
        || setweight(to_tsvector(cfg, coalesce(left(body, 200000), '')), 'C')
        || setweight(to_tsvector('simple',
             coalesce(url, '') || ' ' || regexp_replace(coalesce(url, ''), '[^[:alnum:]]+', ' ', 'g')), 'D')
    $$`.execute(db);

  // The query for one row: in the article's own configuration, or word for word (simple).
  await sql`create function htbase_row_query(cfg regconfig, q text) returns tsquery language sql immutable as $$
      select websearch_to_tsquery(cfg, q) || websearch_to_tsquery('simple', q)
    $$`.execute(db);

  // The same query OR'ed over every configuration: a constant the GIN index can answer before the per-row check.
  await sql`create function htbase_any_query(q text) returns tsquery language plpgsql stable as $$
      declare
        acc tsquery := websearch_to_tsquery('simple', q);
        seen text[] := array[acc::text];
        one tsquery;
        cfg regconfig;
      begin
        for cfg in select distinct config from search_languages loop
          one := websearch_to_tsquery(cfg, q);
          if not one::text = any(seen) then
            acc := acc || one;
            seen := seen || one::text;
          end if;
        end loop;
        return acc;
      end
    $$`.execute(db);

  // The 0001 generated column could not see summaries nor pick a language: replaced by a trigger-kept one.
  await sql`alter table articles drop column search`.execute(db);
  await sql`alter table articles add column search_config regconfig not null default 'simple'`.execute(db);
  await sql`alter table articles add column search tsvector`.execute(db);
  await sql`update articles set search_config = htbase_search_config(lang)`.execute(db);
  await sql`update articles
      set search = htbase_search_document(search_config, title, text_content, normalized_url, id)`.execute(db);
  await sql`create index articles_search_idx on articles using gin (search)`.execute(db);
  await sql`create index articles_title_trgm_idx on articles using gin (title gin_trgm_ops)`.execute(db);
  await sql`create index articles_url_trgm_idx on articles using gin (normalized_url gin_trgm_ops)`.execute(db);

  await sql`create function articles_search_refresh() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' or new.lang is distinct from old.lang then
          new.search_config := htbase_search_config(new.lang);
        end if;
        new.search := htbase_search_document(new.search_config, new.title, new.text_content, new.normalized_url, new.id);
        return new;
      end
    $$`.execute(db);
  await sql`create trigger articles_search_insert before insert on articles
      for each row execute function articles_search_refresh()`.execute(db);
  // Only when a searched column really changes: every artifact transition bumps the row's version.
  await sql`create trigger articles_search_update before update of title, text_content, lang, normalized_url
      on articles for each row
      when (old.title is distinct from new.title or old.text_content is distinct from new.text_content
        or old.lang is distinct from new.lang or old.normalized_url is distinct from new.normalized_url)
      execute function articles_search_refresh()`.execute(db);

  await sql`create function summaries_search_refresh() returns trigger language plpgsql as $$
      declare aid uuid := case when tg_op = 'DELETE' then old.article_id else new.article_id end;
      begin
        update articles a
          set search = htbase_search_document(a.search_config, a.title, a.text_content, a.normalized_url, a.id)
          where a.id = aid;
        return null;
      end
    $$`.execute(db);
  await sql`create trigger summaries_search after insert or update or delete on summaries
      for each row execute function summaries_search_refresh()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger if exists summaries_search on summaries`.execute(db);
  await sql`drop function if exists summaries_search_refresh()`.execute(db);
  await sql`drop trigger if exists articles_search_update on articles`.execute(db);
  await sql`drop trigger if exists articles_search_insert on articles`.execute(db);
  await sql`drop function if exists articles_search_refresh()`.execute(db);
  await sql`drop index if exists articles_url_trgm_idx`.execute(db);
  await sql`drop index if exists articles_title_trgm_idx`.execute(db);
  await sql`alter table articles drop column if exists search`.execute(db);
  await sql`alter table articles drop column if exists search_config`.execute(db);
  await sql`alter table articles add column search tsvector generated always as (
      setweight(to_tsvector('simple', coalesce(title, '')), 'A') ||
      setweight(to_tsvector('simple', coalesce(left(text_content, 200000), '')), 'B')) stored`.execute(db);
  await sql`create index articles_search_idx on articles using gin (search)`.execute(db);
  for (const f of ['htbase_any_query(text)', 'htbase_row_query(regconfig, text)'])
    await sql`drop function if exists ${sql.raw(f)}`.execute(db);
  await sql`drop function if exists htbase_search_document(regconfig, text, text, text, uuid)`.execute(db);
  await sql`drop function if exists htbase_search_config(text)`.execute(db);
  await sql`drop table if exists search_languages`.execute(db);
}

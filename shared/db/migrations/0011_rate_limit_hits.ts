// The Postgres limiter's hits decided many at once (issue 17): rate_limit_hits() takes a batch of hits and runs
// 0003's sliding-window upsert for each, in one round trip. Hits on one key in a batch are decided one after the
// other, as separate statements would be; keys are taken in sorted order, so two batches lock their rows in the
// same order and cannot deadlock.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // `at_ms` null: the database's clock (statement_timestamp(), one value for the batch); tests pass their own.
  await sql`
    create or replace function rate_limit_hits(keys text[], limits int[], windows_ms bigint[], at_ms bigint)
    returns table (hit int, hit_allowed boolean, hit_retry_after_ms bigint)
    language plpgsql as $$
    declare
      now_ms constant bigint := coalesce(at_ms, floor(extract(epoch from statement_timestamp()) * 1000)::bigint);
      k int;
      lim int;
      win bigint;
    begin
      for k in select o.i::int from unnest(keys) with ordinality as o(key, i) order by o.key, o.i loop
        lim := limits[k];
        win := greatest(windows_ms[k], 1);
        -- The key's allowed hits still inside the window (oldest first) are computed once, from the locked,
        -- latest row r; the hit is allowed while they are fewer than the limit.
        insert into rate_limits as r (key, hits, allowed, expires_ms)
        values (keys[k], case when lim > 0 then array[now_ms] else '{}'::bigint[] end, lim > 0, now_ms + win)
        on conflict (key) do update set (hits, allowed, expires_ms) = (
          select case when w.room then w.kept || now_ms else w.kept end,
            w.room,
            case when w.room then greatest(r.expires_ms, now_ms + win) else r.expires_ms end
          from (
            select kept, cardinality(kept) < lim as room
            from (select array(select h from unnest(r.hits) as h where h > now_ms - win order by h) as kept) as a
          ) as w
        )
        returning r.allowed,
          case when r.allowed then 0
            else coalesce(r.hits[cardinality(r.hits) - lim + 1] + win - now_ms, win)
          end
        into hit_allowed, hit_retry_after_ms;
        hit := k;
        return next;
      end loop;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function if exists rate_limit_hits(text[], int[], bigint[], bigint)`.execute(db);
}

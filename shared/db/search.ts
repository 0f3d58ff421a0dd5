// Ranked search behind listArticles' `q` (issue 12): the query in the article's own language and word for word, a
// trigram fallback for partial words and URLs, relevance or date order, and a snippet whose only markup is <mark>.
import { sql, type RawBuilder } from 'kysely';
import type { Article, Db } from './types.ts';

export type SearchSort = 'relevance' | 'date';
/** Date order pages on (created_at, id); relevance order on (rank, id), so neither needs an OFFSET. */
export type ListCursor = { createdAt: Date; id: string } | { rank: number; id: string };

export interface SearchQuery {
  ownerId?: string;
  q: string;
  url?: string;
  status?: Article['status'];
  tag?: string;
  site?: string;
  from?: Date;
  to?: Date;
  sort: SearchSort;
  cursor?: ListCursor;
  limit: number;
}

/** What a search adds to each row: its relevance (higher first; 0..1 for a word match, up to 0.1 for trigrams) and a highlighted extract. */
export interface SearchHit {
  rank: number;
  /** HTML: the text is escaped; the matched words are wrapped in <mark>…</mark>. */
  snippet: string;
}

// ts_headline marks matches with these; they are removed from the text first, so any in its output are ours.
const OPEN = '\u0001';
const CLOSE = '\u0002';
const MARKS = `StartSel="${OPEN}", StopSel="${CLOSE}"`;
const HEADLINE_OPTIONS = `${MARKS}, MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "`;
// Fragment mode shrinks a text of a few words to the matched word alone: short texts are shown whole.
const SHORT_OPTIONS = `${MARKS}, HighlightAll=true`;
const SHORT_CHARS = 240;
// ts_headline parses the whole document it is given: the first 20,000 characters keep 20 snippets in milliseconds.
const HEADLINE_CHARS = 20_000;
// Longer texts are headlined from a window that starts a little before the first word of the query found in them.
const WINDOW_CHARS = 3_000;
const LEAD_CHARS = 300;
// A tsquery's lexemes are quoted ('it''s'); each becomes a case-blind regex anchored at a word start (\m).
const QUOTED_LEXEME = String.raw`'((?:[^']|'')+)'`;
const REGEX_SPECIAL = String.raw`([^[:alnum:]])`;
const REGEX_ESCAPED = String.raw`\\\1`;
const WORD_START = String.raw`\m`;
// ts_rank_cd weights for D (URL), C (text), B (summary, key points, tags), A (title).
const WEIGHTS = '{0.1,0.2,0.4,1.0}';
// Trigrams need three characters; below that ILIKE '%q%' would read the whole index.
const MIN_TRIGRAM_CHARS = 3;
// Relevance is computed over at most this many matches, the newest (step 2 of searchArticles).
export const CANDIDATES = 500;
// Date order ranks nothing away: the page (and a margin) is all it needs of the newest matches.
const DATE_CANDIDATES = 100;

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes a ts_headline result and turns its sentinels into <mark>…</mark>: no markup of the page survives. */
export function markSnippet(raw: string): string {
  return raw
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!)
    .replaceAll(OPEN, '<mark>')
    .replaceAll(CLOSE, '</mark>');
}

/** `q` as a literal ILIKE substring pattern. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function trigramMatch(q: string): RawBuilder<boolean> {
  if (q.length < MIN_TRIGRAM_CHARS) return sql<boolean>`false`;
  const p = likePattern(q);
  // Substrings (a partial word, any piece of a URL): word similarity (<%) drew ten times the candidates to recheck.
  return sql<boolean>`(a.title ilike ${p} or a.normalized_url ilike ${p})`;
}

/** At least this share of the owner's archives matching: walking newest first tests at most 4 rows per hit. */
const WALK_DENSITY = 0.25;
// The newest-archives window (recentWindow) is sized for this many times the candidates the estimate predicts in it.
const WINDOW_SLACK = 1.5;
const MAX_WINDOW_SHARE = 0.5;

/**
 * Which way to find the newest CANDIDATES matches, from the planner's own estimates (htbase_search_estimate):
 * walk the owner's archives newest first, testing each one's vector (cheap when most match: a common word), or
 * take the matches from the GIN index (owner_id, search) and sort them (cheap when few match). Left alone, the
 * planner walks for a word in 7% of the archives (it does not count reading each vector from TOAST: 300 ms),
 * and for a word in most of them it rechecks every archive of the owner instead of walking.
 */
export function walkNewest(matches: number, owned: number): boolean {
  if (matches <= 0 || owned <= 0) return false;
  return matches / owned >= WALK_DENSITY;
}

/**
 * How many of the owner's newest archives should hold the `wanted` newest matches, or null when the matches are
 * too few to be worth bounding. Taking every match from the GIN index means reading each one's row for its date
 * (3,600 rows for a word in 7% of 50,000 archives); ANDed with the date range of this window (a btree bitmap),
 * only the rows of the window are read. A window that turns out short is completed from older rows, so the
 * estimate decides the cost only, never the result.
 */
export function recentWindow(matches: number, owned: number, wanted: number): number | null {
  if (matches <= 2 * wanted || owned <= 0) return null;
  const size = Math.ceil(((wanted * owned) / matches) * WINDOW_SLACK);
  // A window of most of the archives saves few rows and costs a walk of its length to find its start.
  return size > owned * MAX_WINDOW_SHARE ? null : size;
}

/**
 * The date of the owner's `size`-th newest archive (below the page's upper bounds): the start of recentWindow's
 * window, read from the (owner_id, created_at, id) index alone. Null when the owner has fewer archives.
 */
async function windowStart(db: Db, query: SearchQuery, size: number): Promise<Date | null> {
  const c = query.sort === 'date' && query.cursor && 'createdAt' in query.cursor ? query.cursor.createdAt : null;
  const { rows } = await sql<{ created_at: Date }>`select a.created_at from articles a
      where ${query.ownerId ? sql`a.owner_id = ${query.ownerId}` : sql`true`}
        and ${query.to ? sql`a.created_at < ${query.to}` : sql`true`}
        and ${c ? sql`a.created_at <= ${c}` : sql`true`}
      order by a.created_at desc, a.id desc offset ${size - 1} limit 1`.execute(db);
  return rows[0]?.created_at ?? null;
}

function cursorCondition(query: SearchQuery): RawBuilder<boolean> {
  const c = query.cursor;
  if (!c) return sql<boolean>`true`;
  if (query.sort === 'date') {
    if (!('createdAt' in c)) throw new TypeError('listArticles: date order pages with a {createdAt, id} cursor');
    return sql<boolean>`(a.created_at < ${c.createdAt} or (a.created_at = ${c.createdAt} and a.id < ${c.id}))`;
  }
  if (!('rank' in c)) throw new TypeError('listArticles: relevance order pages with a {rank, id} cursor');
  // rank is a real (float4); the number read back casts to the same real, so equality holds across pages.
  return sql<boolean>`(r.rank < ${c.rank}::real or (r.rank = ${c.rank}::real and a.id < ${c.id}))`;
}

/**
 * The caller's archives matching `q`, best first (or newest first), each with its rank and snippet.
 * 1. htbase_any_query ORs the query over every language: sent back as a constant, so the planner estimates how
 *    many rows it matches and the GIN index (owner_id, search) answers it.
 * 2. Candidates: the newest CANDIDATES matches (in date order: the page and a margin), found one of three ways:
 *    walking the newest archives (walkNewest), within the window of newest archives that should hold them
 *    (recentWindow), or all matches from the index. Ranking reads each match's vector, so a word found in most
 *    of a large library would cost a second; it ranks among the newest matches.
 * 3. Each candidate is checked against the query in its own configuration and simple (qs.tq), then ranked.
 */
export async function searchArticles<C extends keyof Article>(
  db: Db,
  query: SearchQuery,
  columns: readonly C[],
): Promise<Array<Pick<Article, C> & SearchHit>> {
  const q = query.q.trim();
  const trigram = trigramMatch(q);
  const byDate = query.sort === 'date';
  // Date order shows the newest matches as they are: a page and a margin for rows the per-language check drops.
  const limit = byDate ? Math.max(query.limit * 5, DATE_CANDIDATES) : Math.max(CANDIDATES, query.limit);
  const { rows: est } = await sql<{ tq: string; matches: number; owned: number }>`
    select tq::text as tq, e.matches, e.owned
    from htbase_any_query(${q}) as tq, htbase_search_estimate(${query.ownerId ?? null}::uuid, tq) as e`.execute(db);
  const { tq } = est[0]!;
  const [matches, owned] = [Number(est[0]!.matches), Number(est[0]!.owned)];
  const needed = new Set<string>([
    ...columns,
    'id',
    'title',
    'normalized_url',
    'created_at',
    'search',
    'search_config',
  ]);
  const inner = sql.join([...needed].map((c) => sql.ref(`a.${c}`)));
  const cols = sql.join(columns.map((c) => sql.ref(`a.${c}`)));
  const filters = sql`${query.ownerId ? sql`a.owner_id = ${query.ownerId}` : sql`true`}
          and ${query.url ? sql`a.normalized_url = ${query.url}` : sql`true`}
          and ${query.status ? sql`a.status = ${query.status}` : sql`true`}
          and ${query.site ? sql`a.site = ${query.site}` : sql`true`}
          and ${query.tag ? sql`a.tags @> array[${query.tag}]::text[]` : sql`true`}
          and ${query.from ? sql`a.created_at >= ${query.from}` : sql`true`}
          and ${query.to ? sql`a.created_at < ${query.to}` : sql`true`}
          and (a.search @@ ${tq}::tsquery or ${trigram})
          and ${byDate ? cursorCondition(query) : sql`true`}`;
  const walk = walkNewest(matches, owned);
  const window = walk ? null : recentWindow(matches, owned, limit);
  const since = window === null ? null : await windowStart(db, query, window);
  // A materialized CTE is planned for all its rows: the planner cannot walk the date index and test each row.
  // It keeps the columns it read (the vector as a TOAST pointer): no second visit of the rows it keeps.
  const fromIndex = (bound: RawBuilder<boolean>) => sql`(with m as materialized (
      select ${inner} from articles a where ${filters} and ${bound})
    select * from m order by m.created_at desc, m.id desc limit ${limit})`;
  const candidates = walk
    ? sql`(select ${inner} from articles a where ${filters} order by a.created_at desc, a.id desc limit ${limit})`
    : since === null
      ? fromIndex(sql`true`)
      : // The window's matches (GIN bitmap AND the date range), then older ones only if the window held too few.
        sql`(with recent as materialized (
          select ${inner} from articles a where ${filters} and a.created_at >= ${since}
          order by a.created_at desc, a.id desc limit ${limit})
        select * from (
          select * from recent
          union all
          select * from ${fromIndex(sql`a.created_at < ${since}`)} as older
            where (select count(*) from recent) < ${limit}
        ) as u
        order by u.created_at desc, u.id desc
        limit ${limit})`;
  const order = byDate ? sql`hit.created_at desc, hit.id desc` : sql`hit.rank desc, hit.id desc`;
  const { rows } = await sql<Pick<Article, C> & { rank: number; snippet: string | null }>`
    with qs as materialized (
      select c.config, htbase_row_query(c.config, ${q}) as tq
      from (select distinct config from search_languages union select 'simple'::regconfig) as c
    )
    select hit.*, (
      select ts_headline(d.search_config, doc.text, hit.tq,
        case when length(doc.text) <= ${SHORT_CHARS} then ${SHORT_OPTIONS} else ${HEADLINE_OPTIONS} end)
      from articles d
      cross join lateral (select translate(
        coalesce(nullif(left(d.text_content, ${HEADLINE_CHARS}), ''), d.excerpt, d.title, ''), ${OPEN + CLOSE}, ''
      ) as whole) as w
      -- Where a word of the query (as typed or stemmed) first starts a word of the text.
      cross join lateral (select min(nullif(regexp_instr(w.whole, ${WORD_START} || regexp_replace(
          replace(m[1], '''''', ''''), ${REGEX_SPECIAL}, ${REGEX_ESCAPED}, 'g'), 1, 1, 0, 'i'), 0)) as at
        from regexp_matches(hit.tq::text, ${QUOTED_LEXEME}, 'g') as m) as p
      -- ts_headline parses all it is given (5 ms for 20,000 characters): only the window around that word.
      cross join lateral (select case when length(w.whole) <= ${WINDOW_CHARS} or p.at is null then w.whole
          else substr(w.whole, greatest(1, p.at - ${LEAD_CHARS}), ${WINDOW_CHARS}) end as text) as doc
      where d.id = hit.id) as snippet
    from (
      select ${cols}, r.rank, qs.tq
      from ${candidates} as a
      join qs on qs.config = a.search_config
      -- The vector is read from TOAST once per candidate: each of its three uses below would read it again.
      cross join lateral (select a.search || ''::tsvector as v offset 0) as d
      cross join lateral (
        -- Trigram similarity only where the words did not match: it costs as much as the rank itself.
        select (case when d.v @@ qs.tq then ts_rank_cd(${WEIGHTS}::float4[], d.v, qs.tq, 32)
          else 0.1 * greatest(word_similarity(${q}, coalesce(a.title, '')), word_similarity(${q}, a.normalized_url))
          end)::real
          as rank
      ) as r
      where (d.v @@ qs.tq or ${trigram})
        and ${byDate ? sql`true` : cursorCondition(query)}
      order by ${byDate ? sql`a.created_at desc, a.id desc` : sql`r.rank desc, a.id desc`}
      limit ${query.limit}
    ) as hit
    order by ${order}`.execute(db);
  return rows.map(({ tq: _tq, ...row }: any) => ({
    ...row,
    rank: Number(row.rank),
    snippet: markSnippet(row.snippet ?? ''),
  }));
}

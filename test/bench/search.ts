// `npm run bench:search [-- --archives N --runs N]`: seeds N archives (100,000) in a throwaway PostgreSQL 15, then
// times a ranked search and the library's first page (newest first, per owner) through listArticles, beside the
// same SQL on a copy of the table without its indexes (schema `noidx`, found first on the search path).
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { listArticles, type ListQuery } from '../../shared/db/articles.ts';
import type { Database } from '../../shared/db/types.ts';
import type { SearchSort } from '../../shared/db/search.ts';
import { startPostgres, type PostgresHandle } from '../support/services.ts';

const { values: args } = parseArgs({
  options: {
    archives: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '30' },
    'noidx-runs': { type: 'string', default: '5' },
    // A database seeded by an earlier run (`--database-url postgres://… --reuse`): tuning queries without reseeding.
    'database-url': { type: 'string' },
    reuse: { type: 'boolean', default: false },
  },
});
const ARCHIVES = Number(args.archives);
const RUNS = Number(args.runs);
const NOIDX_RUNS = Number(args['noidx-runs']);
// Half the archives belong to one person (the heavy case), the rest to ten others.
const HEAVY_SHARE = 0.5;
const OTHERS = 10;
const BATCH = 5_000;

/** A vocabulary of pronounceable pseudo-words; texts draw from it with a skew, so some words are common. */
function vocabulary(size: number): string[] {
  const c = 'bdfgklmnprstvz';
  const v = 'aeiou';
  const out: string[] = [];
  for (let i = 0; out.length < size; i++) {
    let n = i;
    let w = '';
    for (let s = 0; s < 3; s++) {
      w += c[n % c.length]! + v[Math.floor(n / c.length) % v.length]!;
      n = Math.floor(n / (c.length * v.length));
    }
    out.push(w + 'n');
  }
  return out;
}
const WORDS = vocabulary(5000);

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  const r = await fn();
  console.log(`${label}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return r;
}

/** One word of the skewed draw: the first words are very common, the last ones rare. */
const draw = () => WORDS[Math.floor(Math.random() ** 3 * WORDS.length)]!;
const phrase = (n: number) => Array.from({ length: n }, draw).join(' ');

/** Seeding statements can outlast the pool's 30 s statement timeout on a loaded machine. */
async function unbounded(db: Kysely<Database>, statement: RawBuilder<unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`set local statement_timeout = 0`.execute(trx);
    await statement.execute(trx);
  });
}

/**
 * Owners, then archives in batches (text generated here, sent as one array per column through unnest, so the
 * insert trigger builds each search vector), then summaries with tags for one archive in five.
 */
async function seed(db: Kysely<Database>): Promise<{ heavy: string; light: string }> {
  const owners = await sql<{ id: string }>`insert into users (name)
      select 'bench-' || g from generate_series(0, ${OTHERS}) g returning id`.execute(db);
  const ids = owners.rows.map((r) => r.id);
  const heavyCount = Math.round(ARCHIVES * HEAVY_SHARE);
  for (let from = 0; from < ARCHIVES; from += BATCH) {
    const n = Math.min(BATCH, ARCHIVES - from);
    const idx = Array.from({ length: n }, (_, k) => from + k);
    const urls = idx.map((i) => `https://site${i % 500}.example/${WORDS[i % WORDS.length]}/${i}`);
    const titles = idx.map((i) => phrase(5 + (i % 3)));
    const bodies = idx.map((i) => phrase(150 + (i % 100)));
    const langs = idx.map((i) => (i % 10 === 0 ? null : i % 10 < 3 ? 'fr-FR' : 'en-US'));
    const ownerIds = idx.map((i) => (i < heavyCount ? ids[0]! : ids[1 + (i % OTHERS)]!));
    await unbounded(
      db,
      sql`insert into articles (id, url, normalized_url, title, site_name, lang, text_content, status, owner_id,
          created_at)
        select gen_random_uuid(), u, u, t, 'site', l, b, 'complete', o,
          date_trunc('milliseconds', now()) - make_interval(secs => i * 30)
        from unnest(${urls}::text[], ${titles}::text[], ${langs}::text[], ${bodies}::text[], ${ownerIds}::uuid[],
          ${idx}::int[]) as x(u, t, l, b, o, i)`,
    );
    process.stdout.write(`  ${from + n} archives\r`);
  }
  await unbounded(
    db,
    sql`insert into summaries (article_id, provider, summary, key_points, tags, input_sha256)
      select a.id, 'extractive', 'A summary about ' || split_part(a.title, ' ', 1), '[]'::jsonb,
        jsonb_build_array(split_part(a.title, ' ', 2), 'benchtag'), 'x'
      from articles a where hashtext(a.id::text) % 5 = 0`,
  );
  return { heavy: ids[0]!, light: ids[1]! };
}

/** The owners an earlier run seeded (`--reuse`). */
async function seededOwners(db: Kysely<Database>): Promise<{ heavy: string; light: string }> {
  const { rows } = await sql<{ id: string; name: string }>`select id, name from users
      where name in ('bench-0', 'bench-1') order by name`.execute(db);
  if (rows.length !== 2) throw new Error('--reuse: this database was not seeded by bench:search');
  return { heavy: rows[0]!.id, light: rows[1]!.id };
}

/** The same table without any index, where unqualified `articles` resolves first (search_path noidx, public). */
async function copyWithoutIndexes(db: Kysely<Database>): Promise<void> {
  await sql`drop schema if exists noidx cascade`.execute(db);
  await sql`create schema noidx`.execute(db);
  await sql`create table noidx.articles (like public.articles including defaults)`.execute(db);
  await unbounded(db, sql`insert into noidx.articles select * from public.articles`);
  await sql`vacuum analyze public.articles`.execute(db);
  await sql`vacuum analyze noidx.articles`.execute(db);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Figures {
  p50: number;
  p95: number;
  rows: number;
  samples: number[];
}

function figures(samples: number[], rows = 0): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), rows, samples };
}

/** Times the query `runs` times after one warm-up run. */
async function measure(db: Kysely<Database>, query: ListQuery, runs: number): Promise<Figures> {
  const samples: number[] = [];
  let rows = 0;
  await listArticles(db, query);
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    rows = (await listArticles(db, query)).length;
    samples.push(performance.now() - t);
  }
  return figures(samples, rows);
}

const fmt = (f: Figures) => `p50 ${f.p50.toFixed(1).padStart(7)} ms  p95 ${f.p95.toFixed(1).padStart(7)} ms`;

let pg: PostgresHandle | undefined;
const handles: DatabaseHandle[] = [];
try {
  const databaseUrl = args['database-url'] ?? (pg = await timed('PostgreSQL 15 up', () => startPostgres())).databaseUrl;
  const main = await openDatabase({ databaseUrl, maxConnections: 2 });
  handles.push(main);
  const { heavy, light } = args.reuse
    ? await seededOwners(main.db)
    : await timed(`seeded ${ARCHIVES} archives`, () => seed(main.db));
  // Copied again on --reuse too: a migration since the seed may have added columns the queries read.
  await timed('copied without indexes, analyzed', () => copyWithoutIndexes(main.db));
  const noidx = await openDatabase({
    databaseUrl: `${databaseUrl}?options=${encodeURIComponent('-c search_path=noidx,public')}`,
    maxConnections: 2,
    migrate: false,
  });
  handles.push(noidx);

  // Words drawn near the head (common), middle and tail (rare) of the skewed draw, two words, a partial URL, and
  // the mid word newest first.
  const words = { common: WORDS[3]!, mid: WORDS[400]!, rare: WORDS[4500]! };
  // site40's archives are the light owner's too (ids[1 + i % 10] for i % 500 = 40): both owners find 10.
  const kinds: Array<[string, string, SearchSort?]> = [
    ['common word', words.common],
    ['mid word', words.mid],
    ['rare word', words.rare],
    ['two words', `${words.mid} ${WORDS[700]}`],
    ['partial URL', `site40.example/${WORDS[40]!.slice(0, 4)}`],
    ['mid, by date', words.mid, 'date'],
  ];
  const owners: Array<[string, string]> = [
    [`heavy owner (${Math.round(ARCHIVES * HEAVY_SHARE)})`, heavy],
    [`light owner (${Math.round((ARCHIVES * (1 - HEAVY_SHARE)) / OTHERS)})`, light],
  ];
  console.log(`\nlistArticles, limit 20; ${RUNS} runs indexed, ${NOIDX_RUNS} without indexes\n`);
  for (const [who, ownerId] of owners) {
    const indexed: number[] = [];
    const plain: number[] = [];
    for (const [kind, q, sort] of kinds) {
      const query: ListQuery = { ownerId, q, sort, limit: 20 };
      const a = await measure(main.db, query, RUNS);
      const b = await measure(noidx.db, query, NOIDX_RUNS);
      indexed.push(...a.samples);
      plain.push(...b.samples);
      console.log(`${who.padEnd(20)} ${kind.padEnd(12)} indexed ${fmt(a)} | no indexes ${fmt(b)} | ${a.rows} rows`);
    }
    const [a, b] = [figures(indexed), figures(plain)];
    console.log(`${who.padEnd(20)} ${'ranked (all)'.padEnd(12)} indexed ${fmt(a)} | no indexes ${fmt(b)}`);
    const page: ListQuery = { ownerId, limit: 50 };
    const c = await measure(main.db, page, RUNS);
    const d = await measure(noidx.db, page, NOIDX_RUNS);
    console.log(`${who.padEnd(20)} ${'first page'.padEnd(12)} indexed ${fmt(c)} | no indexes ${fmt(d)}\n`);
  }
} finally {
  for (const h of handles.reverse()) await h.close();
  await pg?.stop();
}

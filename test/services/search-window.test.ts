// The recent-window plan of shared/db/search.ts on PostgreSQL 15: a word in thousands of one owner's archives is
// found within a window of their newest archives, and the results are those of an exhaustive query: the newest
// 500 matches in relevance order, the newest matches in date order, and older ones when the window holds too few.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type Kysely, type KyselyPlugin } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { listArticles, type ListedArticle, type ListQuery } from '../../shared/db/articles.ts';
import { CANDIDATES } from '../../shared/db/search.ts';
import { createUser } from '../../shared/db/users.ts';
import type { Database } from '../../shared/db/types.ts';
import { startPostgres, type PostgresHandle } from '../support/services.ts';

const ARCHIVES = 12_000;
// 'qorvex' is in 2 of every 9 archives (22%: below the density that walks the newest archives; 2,667 matches,
// enough for a window), three times in half of them; 'vumtrel' in one of three of the 6,000 oldest only, so the
// window (the newest 4,500) holds none.
const UNIFORM = 'qorvex';
const OLD_ONLY = 'vumtrel';

describe('search within the window of newest archives (PostgreSQL 15)', () => {
  let pg: PostgresHandle;
  let dbh: DatabaseHandle;
  let owner: string;
  let other: string;
  // The SQL each search sent: the window's plan is named by its CTE.
  const sent: string[] = [];
  const recorder: KyselyPlugin = {
    transformQuery: (args) => {
      sent.push(JSON.stringify(args.node));
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  let db: Kysely<Database>;

  before(async () => {
    pg = await startPostgres();
    dbh = await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 2 });
    db = dbh.db.withPlugin(recorder);
    owner = (await createUser(dbh.db, { name: 'window-owner' })).id;
    other = (await createUser(dbh.db, { name: 'window-other' })).id;
    // i = 0 is the newest archive; every archive is 30 s older than the one before.
    await sql`insert into articles (id, url, normalized_url, title, lang, text_content, status, owner_id, created_at)
        select gen_random_uuid(), u, u, 'page ' || i, 'en', concat_ws(' ', 'plain words about nothing', i,
            case when i % 9 in (0, 4) then ${UNIFORM} end,
            case when i >= 6000 and i % 3 = 0 then ${OLD_ONLY} end,
            case when i % 9 = 0 then ${UNIFORM} || ' ' || ${UNIFORM} end),
          'complete', ${owner}::uuid, now() - make_interval(secs => i * 30)
        from generate_series(0, ${ARCHIVES - 1}) as i, lateral (select 'https://w.example/' || i as u) as x`.execute(
      dbh.db,
    );
    // Another owner's newer archives all match: none may appear.
    await sql`insert into articles (id, url, normalized_url, title, lang, text_content, status, owner_id, created_at)
        select gen_random_uuid(), u, u, 'theirs ' || i, 'en', ${UNIFORM + ' ' + OLD_ONLY}, 'complete',
          ${other}::uuid, now() + make_interval(secs => i)
        from generate_series(1, 200) as i, lateral (select 'https://o.example/' || i as u) as x`.execute(dbh.db);
    await sql`analyze articles`.execute(dbh.db);
  });
  after(async () => {
    await dbh?.close();
    await pg?.stop();
  });

  /** The exhaustive answer: the owner's newest matches of `q` in each archive's own configuration. */
  async function newestMatches(q: string, n: number): Promise<string[]> {
    const { rows } = await sql<{ id: string }>`select id from articles
        where owner_id = ${owner} and search @@ htbase_row_query(search_config, ${q})
        order by created_at desc, id desc limit ${n}`.execute(dbh.db);
    return rows.map((r) => r.id);
  }

  /** Every page of a search, following (rank, id) or (created_at, id) cursors. */
  async function allPages(query: Omit<ListQuery, 'cursor'>, maxPages = 100): Promise<ListedArticle[]> {
    const out: ListedArticle[] = [];
    let page = await listArticles(db, query);
    for (let n = 0; page.length > 0 && n < maxPages; n++) {
      out.push(...page);
      const last = page[page.length - 1]!;
      const cursor =
        query.sort === 'date' ? { createdAt: last.created_at, id: last.id } : { rank: last.rank!, id: last.id };
      page = await listArticles(db, { ...query, cursor });
    }
    return out;
  }

  const usedWindow = () => sent.some((s) => s.includes('with recent as materialized'));

  test('relevance order ranks exactly the newest 500 matches, best first, and found them in the window', async () => {
    sent.length = 0;
    const rows = await allPages({ ownerId: owner, q: UNIFORM, limit: 50 });
    assert.ok(usedWindow(), 'the window plan ran');
    const expected = await newestMatches(UNIFORM, CANDIDATES);
    assert.equal(expected.length, CANDIDATES);
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(expected));
    assert.equal(rows.length, CANDIDATES, 'no repeats across pages');
    for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.rank! >= rows[i]!.rank!, 'ranks descend');
    // Those with the word three times (i % 9 = 0) rank above those with it once.
    const thrice = (r: ListedArticle) => Number(r.title!.split(' ')[1]) % 9 === 0;
    const once = rows.findIndex((r) => !thrice(r));
    assert.ok(once > 0 && rows.slice(once).every((r) => !thrice(r)), 'three times ranks above once');
    assert.ok(rows.every((r) => r.snippet!.includes(`<mark>${UNIFORM}</mark>`)));
  });

  test('date order pages through the newest matches exactly, across the window and past it', async () => {
    sent.length = 0;
    const rows = await allPages({ ownerId: owner, q: UNIFORM, sort: 'date', limit: 40 }, 20);
    assert.ok(usedWindow(), 'the window plan ran');
    assert.deepEqual(
      rows.map((r) => r.id),
      await newestMatches(UNIFORM, 800),
    );
  });

  test('a long text is headlined around its first match, far into it, and a stemmed match is still marked', async () => {
    const long = `${'Plain filler sentence without it. '.repeat(500)}The horses were galloping past. ${'Tail. '.repeat(300)}`;
    await sql`insert into articles (id, url, normalized_url, title, lang, text_content, status, owner_id)
        values (gen_random_uuid(), 'https://w.example/long', 'https://w.example/long', 'Long read', 'en', ${long},
          'complete', ${other})`.execute(dbh.db);
    for (const q of ['galloping', 'gallop horse']) {
      const [hit] = await listArticles(db, { ownerId: other, q, limit: 5 });
      assert.equal(hit?.title, 'Long read', q);
      assert.match(hit!.snippet!, /<mark>galloping<\/mark>/, q);
      assert.ok(hit!.snippet!.length < 600, 'a snippet, not the text');
    }
  });

  test('a word found only in older archives: the short window is completed from older ones', async () => {
    sent.length = 0;
    const rows = await allPages({ ownerId: owner, q: OLD_ONLY, limit: 100 });
    assert.ok(usedWindow(), 'the window plan ran');
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set(await newestMatches(OLD_ONLY, CANDIDATES)));
    assert.equal(rows.length, CANDIDATES);
    const byDate = await listArticles(db, { ownerId: owner, q: OLD_ONLY, sort: 'date', limit: 30 });
    assert.deepEqual(
      byDate.map((r) => r.id),
      await newestMatches(OLD_ONLY, 30),
    );
  });
});

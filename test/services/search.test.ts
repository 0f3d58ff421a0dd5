// Ranked search (shared/db/search.ts, migration 0005) on PGlite and on PostgreSQL 15: stemming in the article's
// language, the trigram fallback for partial URLs, rank order, sanitized snippets, owner scoping and paging.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import {
  createArticle,
  deleteArticle,
  listArticles,
  updateArticleMeta,
  type ArticleMeta,
  type ListedArticle,
} from '../../shared/db/articles.ts';
import { upsertSummary } from '../../shared/db/summaries.ts';
import { createUser } from '../../shared/db/users.ts';
import { adminId } from '../support/owners.ts';
import { startPostgres, type PostgresHandle } from '../support/services.ts';

const backends: Array<{ name: string; open: () => Promise<{ dbh: DatabaseHandle; stop: () => Promise<void> }> }> = [
  {
    name: 'PGlite',
    open: async () => {
      const dbh = await openDatabase({ memory: true });
      return { dbh, stop: () => dbh.close() };
    },
  },
  {
    name: 'PostgreSQL 15',
    open: async () => {
      const pg: PostgresHandle = await startPostgres();
      const dbh = await openDatabase({ databaseUrl: pg.databaseUrl, maxConnections: 2 });
      return {
        dbh,
        stop: async () => {
          await dbh.close();
          await pg.stop();
        },
      };
    },
  },
];

for (const backend of backends) {
  describe(`search on ${backend.name}`, () => {
    let dbh: DatabaseHandle;
    let stop: () => Promise<void>;
    let owner: string;
    let other: string;

    before(async () => {
      ({ dbh, stop } = await backend.open());
      owner = await adminId(dbh.db);
      other = (await createUser(dbh.db, { name: `other-${randomUUID().slice(0, 8)}` })).id;
    });
    after(async () => {
      await stop?.();
    });

    /** An archive of `url` with the page metadata a capture would have written. */
    async function archive(url: string, meta: ArticleMeta, ownerId = owner): Promise<string> {
      const id = randomUUID();
      await createArticle(dbh.db, {
        id,
        ownerId,
        url,
        normalizedUrl: url,
        formats: ['readable'],
        dedupWindowSeconds: 0,
        force: true,
        leaseSeconds: 300,
      });
      await updateArticleMeta(dbh.db, id, meta);
      return id;
    }

    const search = (q: string, over: Partial<Parameters<typeof listArticles>[1]> = {}) =>
      listArticles(dbh.db, { ownerId: owner, q, limit: 20, ...over });
    const ids = (rows: ListedArticle[]) => rows.map((r) => r.id);
    const uniqueUrl = (slug: string) => `https://${slug}.example/${randomUUID()}`;

    test('the configuration follows lang: fr-FR -> french, en-GB -> english, unknown -> simple', async () => {
      const fr = await archive(uniqueUrl('fr'), { lang: 'fr-FR', title: 'x' });
      const en = await archive(uniqueUrl('en'), { lang: 'en-GB', title: 'x' });
      const xx = await archive(uniqueUrl('xx'), { lang: 'tlh', title: 'x' });
      const none = await archive(uniqueUrl('none'), { title: 'x' });
      const rows = await dbh.db
        .selectFrom('articles')
        .select(['id', 'search_config'])
        .where('id', 'in', [fr, en, xx, none])
        .execute();
      const config = new Map(rows.map((r) => [r.id, r.search_config]));
      assert.deepEqual(
        [fr, en, xx, none].map((id) => config.get(id)),
        ['french', 'english', 'simple', 'simple'],
      );
      await updateArticleMeta(dbh.db, none, { lang: 'de' });
      const after = await dbh.db.selectFrom('articles').select('search_config').where('id', '=', none).execute();
      assert.equal(after[0]!.search_config, 'german');
    });

    test('a French article is found by an inflected French word (chevaux / cheval)', async () => {
      const id = await archive(uniqueUrl('courses'), {
        lang: 'fr',
        title: 'Les courses de Vincennes',
        text_content: 'Les chevaux galopent sur la piste quatrelunes devant les tribunes.',
      });
      const rows = await search('cheval');
      assert.ok(ids(rows).includes(id), 'cheval finds the article that says chevaux');
      assert.match(rows.find((r) => r.id === id)!.snippet!, /<mark>chevaux<\/mark>/);
    });

    test('an English article is found by an inflected English word (running / runs)', async () => {
      const id = await archive(uniqueUrl('morning'), {
        lang: 'en-US',
        title: 'Morning routine of a glimmerfox',
        text_content: 'The glimmerfox was running along the river before sunrise.',
      });
      const rows = await search('glimmerfox runs');
      assert.deepEqual(ids(rows), [id]);
      assert.match(rows[0]!.snippet!, /<mark>running<\/mark>/);
    });

    test('a partial URL finds its archive (trigram fallback)', async () => {
      const url = `https://blog.zanthorp.example/posts/2024/quantum-widgets-review-${randomUUID()}`;
      const id = await archive(url, { lang: 'en', title: 'A review', text_content: 'Nothing about the address.' });
      assert.deepEqual(ids(await search('zanthorp.example/posts/2024/quantum-widg')), [id]);
      assert.deepEqual(ids(await search('zanthorp')), [id], 'a word of the host');
      assert.deepEqual(ids(await search('quantum-widgets-rev')), [id], 'a partial path segment');
    });

    test('a partial word of a title finds it (trigram fallback)', async () => {
      const id = await archive(uniqueUrl('partial'), { lang: 'en', title: 'Notes on xylocarpous trees' });
      assert.deepEqual(ids(await search('xylocarp')), [id]);
    });

    test('a title match ranks above a body match; ranks come back descending', async () => {
      const body = await archive(uniqueUrl('body'), {
        lang: 'en',
        title: 'Gardening notes',
        text_content: 'Among the roses we once saw a brindlewort in the hedge.',
      });
      const title = await archive(uniqueUrl('title'), {
        lang: 'en',
        title: 'The brindlewort field guide',
        text_content: 'A plant guide.',
      });
      const rows = await search('brindlewort');
      assert.deepEqual(ids(rows), [title, body]);
      assert.ok(rows[0]!.rank! > rows[1]!.rank!, `title ${rows[0]!.rank} > body ${rows[1]!.rank}`);
    });

    test('snippets highlight with <mark> and carry no raw HTML of the text', async () => {
      const id = await archive(uniqueUrl('html'), {
        lang: 'en',
        title: 'Escaping',
        text_content: `it's "the" quorblat: 1 < 2 && 3 > 2 <script>alert(1)</script> <b>b</b> <img src=x onerror=y>`,
      });
      const [row] = await search('quorblat');
      assert.equal(row?.id, id);
      const s = row!.snippet!;
      assert.match(s, /<mark>quorblat<\/mark>/);
      const outsideMarks = s.replace(/<\/?mark>/g, '');
      assert.doesNotMatch(outsideMarks, /[<>"']/, s);
      assert.match(s, /it&#39;s &quot;the&quot; <mark>quorblat<\/mark>: 1 &lt; 2 &amp;&amp; 3 &gt; 2/);
    });

    test('summary, key points and tags are searched, and follow the summary as it changes', async () => {
      const id = await archive(uniqueUrl('summary'), { lang: 'en', title: 'Untitled', text_content: 'Plain text.' });
      await upsertSummary(dbh.db, id, 'sha', {
        provider: 'extractive',
        model: null,
        summary: 'A piece about orrery makers.',
        keyPoints: ['the brass gearing is hand cut'],
        tags: ['horologium'],
        lang: 'en',
      });
      assert.deepEqual(ids(await search('horologium')), [id], 'a tag');
      assert.deepEqual(ids(await search('orrery')), [id], 'the summary');
      assert.deepEqual(ids(await search('gearing')), [id], 'a key point');
      const plain = await archive(uniqueUrl('summary-body'), {
        lang: 'en',
        title: 'Other',
        text_content: 'Mentions horologium once, in the body.',
      });
      assert.deepEqual(ids(await search('horologium')), [id, plain], 'a tag (B) ranks above the body (C)');
      await upsertSummary(dbh.db, id, 'sha2', {
        provider: 'extractive',
        model: null,
        summary: 'Rewritten.',
        keyPoints: [],
        tags: ['clocks'],
        lang: 'en',
      });
      assert.deepEqual(ids(await search('horologium')), [plain], 'the old tag is gone');
      await sql`delete from summaries where article_id = ${id}`.execute(dbh.db);
      assert.deepEqual(ids(await search('clocks')), [], 'a deleted summary leaves the vector');
      assert.ok(await deleteArticle(dbh.db, plain), 'an article with a summary deletes (cascade + trigger)');
    });

    test("another owner's archives never appear, by word or by URL", async () => {
      const url = uniqueUrl('plovdivian');
      const mine = await archive(url, { lang: 'en', title: 'Plovdivian pottery' });
      const theirs = await archive(url, { lang: 'en', title: 'Plovdivian pottery' }, other);
      assert.deepEqual(ids(await search('plovdivian')), [mine]);
      assert.deepEqual(ids(await search('plovdivian.example')), [mine]);
      assert.deepEqual(ids(await search('plovdivian', { ownerId: other })), [theirs]);
      assert.deepEqual(ids(await search('plovdivian', { ownerId: other, sort: 'date' })), [theirs]);
    });

    test('relevance order pages by (rank, id) and date order by (created_at, id), without repeats', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++)
        made.push(
          await archive(uniqueUrl(`page${i}`), {
            lang: 'en',
            title: i % 2 ? 'snorkelwise' : 'Other',
            text_content: 'snorkelwise '.repeat(i + 1),
          }),
        );
      const all = await search('snorkelwise');
      assert.equal(all.length, 5);
      const seen: string[] = [];
      let cursor: { rank: number; id: string } | undefined;
      for (;;) {
        const page = await search('snorkelwise', { limit: 2, cursor, sort: 'relevance' });
        seen.push(...ids(page));
        if (page.length < 2) break;
        const last = page[page.length - 1]!;
        cursor = { rank: last.rank!, id: last.id };
      }
      assert.deepEqual(seen, ids(all));
      const byDate = await search('snorkelwise', { sort: 'date' });
      assert.deepEqual(ids(byDate), [...made].reverse());
      const first = await search('snorkelwise', { sort: 'date', limit: 2 });
      const last = first[1]!;
      const rest = await search('snorkelwise', {
        sort: 'date',
        cursor: { createdAt: new Date(last.created_at), id: last.id },
      });
      assert.deepEqual([...ids(first), ...ids(rest)], ids(byDate));
      assert.ok(byDate.every((r) => typeof r.rank === 'number' && r.snippet!.includes('<mark>')));
    });

    test('stop words alone and one-letter queries find nothing and do not fail', async () => {
      assert.deepEqual(await search('whom'), []);
      assert.deepEqual(await search('q'), []);
      assert.deepEqual(await search('%_\\'), []);
    });
  });
}

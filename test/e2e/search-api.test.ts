// GET /archives?q= through the API (every answer checked against /openapi.json by http()): ranked, stemmed in
// each article's language, a trigram fallback for partial URLs, <mark> snippets with the text escaped, and
// relevance and date cursors that page without repeats.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { http } from '../support/embedded.ts';
import { updateArticleMeta } from '../../shared/db/articles.ts';

let harness: ApiHarness;
const ids: Record<string, string> = {};

async function archive(name: string, url: string, meta: { title: string; lang: string; text_content: string }) {
  const r = await http(harness.base, '/archive', { method: 'POST', json: { url, formats: ['readable'] } });
  assert.equal(r.status, 202);
  ids[name] = r.body.id;
  await updateArticleMeta(harness.db.db, r.body.id, meta);
}

before(async () => {
  harness = await startApiHarness();
  await archive('fr', 'https://journal.test/courses/hippodrome-longchamp', {
    title: 'Une journée aux courses',
    lang: 'fr-FR',
    text_content: 'Les chevaux ont couru sous la pluie devant une foule nombreuse. <b>Le favori</b> a gagné.',
  });
  await archive('en', 'https://daily.test/sports/marathon-report', {
    title: 'City marathon report',
    lang: 'en',
    text_content: 'Thousands were running through the old town; the winner runs for a local club.',
  });
  await archive('titled', 'https://blog.test/lighthouses', {
    title: 'Lighthouses of the north coast',
    lang: 'en',
    text_content: 'A short tour of towers.',
  });
  await archive('body', 'https://blog.test/coast-walk', {
    title: 'A coastal walk',
    lang: 'en',
    text_content: 'Along the way we passed two lighthouses and a harbour.',
  });
});
after(() => harness?.close());

const search = async (q: string, extra = '') =>
  (await http(harness.base, `/archives?q=${encodeURIComponent(q)}${extra}`)).body as {
    items: Array<{ id: string; rank: number; snippet: string }>;
    nextCursor: string | null;
  };

test('a French article is found by an inflected French word, an English one by an inflected English word', async () => {
  const cheval = await search('cheval');
  assert.deepEqual(
    cheval.items.map((i) => i.id),
    [ids.fr],
  );
  assert.match(cheval.items[0]!.snippet, /<mark>chevaux<\/mark>/);
  assert.ok(!cheval.items[0]!.snippet.includes('<b>'), 'the text is escaped: only <mark> is markup');
  const run = await search('run');
  assert.deepEqual(
    run.items.map((i) => i.id),
    [ids.en],
  );
  assert.match(run.items[0]!.snippet, /<mark>running<\/mark>/);
});

test('a partial URL finds its archive', async () => {
  assert.deepEqual(
    (await search('hippodrome-long')).items.map((i) => i.id),
    [ids.fr],
  );
  assert.deepEqual(
    (await search('marathon-rep')).items.map((i) => i.id),
    [ids.en],
  );
});

test('a title match ranks above a body match; date order and cursors page without repeats', async () => {
  const ranked = await search('lighthouse');
  assert.deepEqual(
    ranked.items.map((i) => i.id),
    [ids.titled, ids.body],
  );
  assert.ok(ranked.items[0]!.rank > ranked.items[1]!.rank);
  const seen: string[] = [];
  let page = await search('lighthouse', '&limit=1');
  for (;;) {
    seen.push(...page.items.map((i) => i.id));
    if (!page.nextCursor) break;
    page = await search('lighthouse', `&limit=1&cursor=${page.nextCursor}`);
  }
  assert.deepEqual(seen, [ids.titled, ids.body]);
  const byDate = await search('lighthouse', '&sort=date');
  assert.deepEqual(
    byDate.items.map((i) => i.id),
    [ids.body, ids.titled],
    'newest first',
  );
  const first = await search('lighthouse', '&sort=date&limit=1');
  const mixed = await http(harness.base, `/archives?q=lighthouse&sort=relevance&cursor=${first.nextCursor}`);
  assert.equal(mixed.status, 400, 'a date cursor does not page a relevance order');
});

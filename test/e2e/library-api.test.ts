// The library's API (issue 12): PATCH /archives/{id} for the owner's tags and note (validated, owner-checked,
// searchable, replacing the summary's tags) and GET /archives filtered by tag, site and date, with the keyset
// cursor still paging through a filter. Every answer is checked against /openapi.json by http().
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { problem, startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { http } from '../support/embedded.ts';
import { createAuthenticator } from '../../shared/auth/identity.ts';
import { createApiKey } from '../../shared/auth/api-keys.ts';
import { createUser } from '../../shared/db/users.ts';
import { upsertSummary } from '../../shared/db/summaries.ts';

let harness: ApiHarness;
const ids: Record<string, string> = {};
type Item = { id: string; tags: string[]; site: string | null };

async function archive(name: string, url: string, daysAgo: number) {
  const r = await http(harness.base, '/archive', { method: 'POST', json: { url, formats: ['readable'] } });
  assert.equal(r.status, 202);
  ids[name] = r.body.id;
  await sql`update articles set created_at = now() - make_interval(days => ${daysAgo}) where id = ${r.body.id}`.execute(
    harness.db.db,
  );
}

before(async () => {
  harness = await startApiHarness();
  await archive('old', 'https://www.news.test/2020/story', 400);
  await archive('mid', 'https://news.test/2026/story', 10);
  await archive('new', 'https://blog.test/post', 1);
});
after(() => harness?.close());

const list = async (query: string) => (await http(harness.base, `/archives?${query}`)).body as { items: Item[] };
const idsOf = (r: { items: Item[] }) => r.items.map((i) => i.id);

test("PATCH sets the owner's tags and note; they are shown, searched and replace the summary's tags", async () => {
  await upsertSummary(harness.db.db, ids.mid!, 'x', {
    provider: 'extractive',
    model: null,
    summary: 'A story.',
    keyPoints: [],
    tags: ['politics', 'elections'],
    lang: 'en',
  });
  assert.deepEqual((await http(harness.base, `/archives/${ids.mid}`)).body.tags, ['politics', 'elections']);
  assert.deepEqual(idsOf(await list('tag=elections')), [ids.mid], "the summary's tags filter until edited");

  const r = await http(harness.base, `/archives/${ids.mid}`, {
    method: 'PATCH',
    json: { tags: [' Harbour ', 'ferries', 'harbour'], note: 'Ask Morag about the\nold pier.' },
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.tags, ['Harbour', 'ferries'], 'trimmed, repeats dropped (any case), in order');
  assert.equal(r.body.note, 'Ask Morag about the\nold pier.');
  assert.match(r.headers.get('etag') ?? '', /^"v\d+"$/);
  assert.deepEqual(idsOf(await list('tag=ferries')), [ids.mid]);
  assert.deepEqual(idsOf(await list('tag=elections')), [], "the owner's tags replaced the summary's");
  assert.deepEqual(idsOf(await list('q=morag')), [ids.mid], 'the note is searched');
  assert.deepEqual(idsOf(await list('q=ferries')), [ids.mid], "the owner's tags are searched");

  // A later summary no longer overwrites edited tags; a note alone leaves the tags as they are.
  await upsertSummary(harness.db.db, ids.mid!, 'y', {
    provider: 'extractive',
    model: null,
    summary: 'A story again.',
    keyPoints: [],
    tags: ['other'],
    lang: 'en',
  });
  const n = await http(harness.base, `/archives/${ids.mid}`, { method: 'PATCH', json: { note: '' } });
  assert.deepEqual(n.body.tags, ['Harbour', 'ferries']);
  assert.equal(n.body.note, null, 'an empty note is no note');
  assert.deepEqual(idsOf(await list('q=morag')), [], 'the old note is no longer searched');
});

test('bad PATCH bodies are refused with a clear problem, and nothing changes', async () => {
  const before = (await http(harness.base, `/archives/${ids.new}`)).body;
  const patch = (json: unknown) => http(harness.base, `/archives/${ids.new}`, { method: 'PATCH', json });
  await problem(patch({}), 400, /invalid-request/);
  await problem(patch({ tags: 'a,b' }), 400, /invalid-request/);
  await problem(patch({ tags: [''] }), 400, /invalid-request/);
  await problem(patch({ tags: ['x'.repeat(65)] }), 400, /invalid-request/);
  await problem(patch({ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }), 400, /invalid-request/);
  // Over the note's limit in a body the server still reads (the default body limit is 16 kB).
  const roomy = await harness.serve({ config: { MAX_BODY_BYTES: 16 * 1024 } });
  await problem(
    http(roomy, `/archives/${ids.new}`, { method: 'PATCH', json: { note: 'n'.repeat(4001) } }),
    400,
    /invalid-request/,
  );
  await problem(patch({ tags: [], title: 'x' }), 400, /invalid-request/);
  await problem(
    http(harness.base, '/archives/00000000-0000-4000-8000-000000000000', { method: 'PATCH', json: { note: 'x' } }),
    404,
    /not-found/,
  );
  const after = (await http(harness.base, `/archives/${ids.new}`)).body;
  assert.equal(after.version, before.version);
  assert.deepEqual([after.tags, after.note], [before.tags, before.note]);
});

test("another user's archive answers 404 to PATCH, and a read-only key may not edit", async () => {
  const keyed = await harness.serve({ authenticate: createAuthenticator({ db: harness.db.db, keysRequired: true }) });
  const other = await createUser(harness.db.db, { name: 'someone-else' });
  const otherKey = (await createApiKey(harness.db.db, 'other', { userId: other.id })).key;
  const readKey = (await createApiKey(harness.db.db, 'reader', { scope: 'read' })).key;
  const patch = (key: string) =>
    http(keyed, `/archives/${ids.new}`, {
      method: 'PATCH',
      json: { note: 'not yours' },
      headers: { authorization: `Bearer ${key}` },
    });
  await problem(patch(otherKey), 404, /not-found/);
  await problem(patch(readKey), 403, /insufficient-scope/);
  assert.equal((await http(harness.base, `/archives/${ids.new}`)).body.note, null);
});

test('GET /archives filters by site (www. ignored) and by date, and pages through a filter', async () => {
  assert.deepEqual(idsOf(await list('site=news.test')), [ids.mid, ids.old]);
  assert.deepEqual(idsOf(await list('site=WWW.News.Test')), [ids.mid, ids.old]);
  assert.deepEqual((await list('site=blog.test')).items[0]!.site, 'blog.test');
  const day = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
  assert.deepEqual(idsOf(await list(`from=${day(30)}`)), [ids.new, ids.mid]);
  assert.deepEqual(idsOf(await list(`to=${day(30)}`)), [ids.old]);
  assert.deepEqual(idsOf(await list(`from=${day(30)}&to=${day(5)}`)), [ids.mid]);
  assert.deepEqual(idsOf(await list(`site=news.test&to=${day(5)}&q=story`)), [ids.mid, ids.old].slice(0, 2));
  // One per page through the site filter: the cursor keeps the filter's order, no repeats.
  const first = (await http(harness.base, '/archives?site=news.test&limit=1')).body;
  assert.deepEqual(idsOf(first), [ids.mid]);
  const second = (await http(harness.base, `/archives?site=news.test&limit=1&cursor=${first.nextCursor}`)).body;
  assert.deepEqual(idsOf(second), [ids.old]);
  assert.equal(second.nextCursor, null);
  await problem(http(harness.base, '/archives?site=not%20a%20host'), 400, /invalid-request/);
  await problem(http(harness.base, '/archives?from=yesterday'), 400, /invalid-request/);
  await problem(http(harness.base, `/archives?from=${day(1)}&to=${day(3)}`), 400, /invalid-request/);
});

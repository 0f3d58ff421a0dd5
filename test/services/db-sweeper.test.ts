// The stuck-work sweeper (shared/jobs/sweeper.ts sweepOnce) on PGlite: work past its lease is republished once
// (one message per worker), work past the attempt limit fails with `stuck` and is announced, live work is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { openDatabase, type DatabaseHandle } from '../../shared/db/connect.ts';
import { createArticle, findArticle } from '../../shared/db/articles.ts';
import { claimArtifact, findArtifact } from '../../shared/db/artifacts.ts';
import { sweepOnce, type SweepDeps } from '../../shared/jobs/sweeper.ts';
import { silentLogger } from '../../shared/core/logger.ts';
import type { Format } from '../../shared/core/formats.ts';
import type { Publisher } from '../../shared/core/ports.ts';
import { adminId } from '../support/owners.ts';

let dbh: DatabaseHandle;

before(async () => {
  dbh = await openDatabase({ memory: true });
});
after(async () => {
  await dbh?.close();
});

interface Sent {
  topic: string;
  data: Record<string, unknown>;
}

/** A publisher that records what it is given, and refuses the topics in `failing`. */
function recordingPublisher(failing: string[] = []): Publisher & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    async publish(topic, data) {
      if (failing.includes(topic)) throw new Error(`${topic} is down`);
      sent.push({ topic, data: data as unknown as Record<string, unknown> });
      return String(sent.length);
    },
  };
}

function deps(publisher: Publisher): SweepDeps {
  return { db: dbh.db, publisher, logger: silentLogger(), leaseSeconds: 300, maxAttempts: 3 };
}

async function newArticle(formats: Format[]): Promise<{ id: string; url: string }> {
  const id = randomUUID();
  const url = `https://example.com/${id}`;
  await createArticle(dbh.db, {
    id,
    ownerId: await adminId(dbh.db),
    url,
    normalizedUrl: url,
    formats,
    dedupWindowSeconds: 0,
    force: true,
    leaseSeconds: 300,
  });
  return { id, url };
}

/** Moves the artifact's lease a minute into the past (a lost publish or a dead worker), optionally its attempts. */
async function makeStuck(articleId: string, format: Format, attempts?: number): Promise<void> {
  await dbh.db
    .updateTable('artifacts')
    .set({ lease_until: sql<Date>`now() - interval '1 minute'`, ...(attempts === undefined ? {} : { attempts }) })
    .where('article_id', '=', articleId)
    .where('format', '=', format)
    .execute();
}

test('stuck pending work is republished once, one message per worker, and its lease moves forward', async () => {
  const { id, url } = await newArticle(['pdf', 'screenshot', 'monolith']);
  for (const f of ['pdf', 'screenshot', 'monolith'] as const) await makeStuck(id, f);
  const pub = recordingPublisher();

  assert.deepEqual(await sweepOnce(deps(pub)), { republished: 3, failed: 0 });
  assert.deepEqual(
    pub.sent.map((s) => [s.topic, s.data.articleId, s.data.url, s.data.formats, s.data.reason]),
    [
      ['capture-browser', id, url, ['pdf', 'screenshot'], 'sweep'],
      ['capture-monolith', id, url, ['monolith'], 'sweep'],
    ],
  );
  const pdf = (await findArtifact(dbh.db, id, 'pdf'))!;
  assert.equal(pdf.status, 'pending');
  assert.ok(pdf.lease_until!.getTime() > Date.now() + 250_000, 'lease extended by leaseSeconds');

  assert.deepEqual(await sweepOnce(deps(pub)), { republished: 0, failed: 0 }, 'the next sweep leaves it alone');
  assert.equal(pub.sent.length, 2);
});

test('a running artifact whose worker died is republished; one with a live lease is not', async () => {
  const dead = await newArticle(['readable']);
  const live = await newArticle(['pdf']);
  await claimArtifact(dbh.db, dead.id, 'readable', 300);
  await claimArtifact(dbh.db, live.id, 'pdf', 300);
  await makeStuck(dead.id, 'readable');
  const pub = recordingPublisher();
  assert.deepEqual(await sweepOnce(deps(pub)), { republished: 1, failed: 0 });
  assert.deepEqual(
    pub.sent.map((s) => [s.topic, s.data.articleId, s.data.formats]),
    [['capture-browser', dead.id, ['readable']]],
  );
  const readable = (await findArtifact(dbh.db, dead.id, 'readable'))!;
  assert.equal(readable.status, 'running', 'the sweeper republishes; the next claim takes the expired lease');
  assert.equal(readable.attempts, 1);
});

test('past the attempt limit the artifact fails with `stuck`, is announced, and is not republished', async () => {
  const { id } = await newArticle(['pdf', 'screenshot']);
  await claimArtifact(dbh.db, id, 'pdf', 300);
  await makeStuck(id, 'pdf', 3);
  await makeStuck(id, 'screenshot', 2);
  const versionBefore = (await findArticle(dbh.db, id))!.version;
  const pub = recordingPublisher();

  assert.deepEqual(await sweepOnce(deps(pub)), { republished: 1, failed: 1 });
  const pdf = (await findArtifact(dbh.db, id, 'pdf'))!;
  assert.equal(pdf.status, 'failed');
  assert.equal(pdf.error_code, 'stuck');
  assert.equal(pdf.error_message, 'no worker finished it after 3 attempts');
  assert.equal(pdf.lease_until, null);
  const a = (await findArticle(dbh.db, id))!;
  assert.equal(a.version, versionBefore + 1);
  assert.equal(pub.sent.length, 2);
  assert.deepEqual(pub.sent[0], {
    topic: 'article-changed',
    data: { v: 1, articleId: id, version: versionBefore + 1, deleted: false },
  });
  assert.deepEqual(
    [pub.sent[1].topic, pub.sent[1].data.articleId, pub.sent[1].data.formats],
    ['capture-browser', id, ['screenshot']],
    'under the limit: republished',
  );

  assert.deepEqual(await sweepOnce(deps(pub)), { republished: 0, failed: 0 }, 'a failed artifact is final');
  assert.equal(pub.sent.length, 2);
});

test('a failed publish is not counted; the lease was moved, so the sweep after it tries again', async () => {
  const { id } = await newArticle(['monolith']);
  await makeStuck(id, 'monolith');
  assert.deepEqual(await sweepOnce(deps(recordingPublisher(['capture-monolith']))), { republished: 0, failed: 0 });
  const m = (await findArtifact(dbh.db, id, 'monolith'))!;
  assert.equal(m.status, 'pending');
  assert.ok(m.lease_until!.getTime() > Date.now(), 'extended before the publish');
  await makeStuck(id, 'monolith');
  const pub = recordingPublisher();
  assert.deepEqual(await sweepOnce(deps(pub)), { republished: 1, failed: 0 });
  assert.deepEqual(
    pub.sent.map((s) => [s.topic, s.data.articleId]),
    [['capture-monolith', id]],
  );
});

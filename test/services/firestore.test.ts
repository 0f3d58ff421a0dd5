// The Firestore replica (shared/adapters/firestore.ts) against the real Firestore emulator: newer
// versions win, stale and duplicate writes are ignored, concurrent out-of-order writes converge, deletes stick.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Firestore } from '@google-cloud/firestore';
import { startFirestoreEmulator, type FirestoreEmulatorHandle } from '../support/services.ts';
import { createFirestoreReplica } from '../../shared/adapters/firestore.ts';
import type { ArticleReplicaDoc, ReplicaWriter } from '../../shared/core/ports.ts';
import { TransientError } from '../../shared/core/errors.ts';

let emu: FirestoreEmulatorHandle;
let firestore: Firestore;
let replica: ReplicaWriter;

before(async () => {
  emu = await startFirestoreEmulator({ projectId: 'htbase-test' });
  firestore = new Firestore({ projectId: emu.projectId, host: emu.emulatorHost, ssl: false });
  replica = createFirestoreReplica({ firestore });
});
after(async () => {
  await firestore?.terminate();
  await emu?.stop();
});
beforeEach(async () => {
  await emu.clear();
});

function doc(id: string, version: number): ArticleReplicaDoc {
  const done = version >= 3;
  return {
    id,
    version,
    ownerUid: `uid-${id.slice(0, 8)}`,
    url: 'https://example.com/post',
    finalUrl: version > 1 ? 'https://example.com/post/' : null,
    status: done ? 'complete' : 'running',
    title: version > 1 ? `Title v${version}` : null,
    artifacts: {
      pdf: { status: done ? 'succeeded' : 'running', sizeBytes: done ? 1000 + version : null, errorCode: null },
      ...(version % 2 ? { screenshot: { status: 'failed', sizeBytes: null, errorCode: 'timeout' } } : {}),
    },
    summary:
      version >= 4
        ? { provider: 'extractive', model: null, summary: `s${version}`, keyPoints: ['a'], tags: ['t'], lang: 'en' }
        : null,
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedAt: new Date(Date.UTC(2025, 0, 1, 0, 0, version)).toISOString(),
  };
}

async function read(id: string) {
  const snap = await firestore.collection('articles').doc(id).get();
  if (!snap.exists) return null;
  const d = snap.data()!;
  return {
    ...d,
    createdAt: d.createdAt?.toDate?.().toISOString(),
    updatedAt: d.updatedAt?.toDate?.().toISOString(),
  } as Record<string, unknown>;
}
const expected = (d: ArticleReplicaDoc) => ({ ...d, deleted: false });

test('a newer version is written, an older or equal one is ignored', async () => {
  const id = randomUUID();
  assert.equal(await replica.write(doc(id, 2)), 'written');
  assert.equal(await replica.write(doc(id, 1)), 'stale');
  assert.equal(await replica.write(doc(id, 2)), 'stale');
  assert.deepEqual(await read(id), expected(doc(id, 2)));
  assert.equal(await replica.write(doc(id, 3)), 'written');
  // Fields the newer version dropped (the screenshot artifact, the title change) follow it exactly.
  assert.deepEqual(await read(id), expected(doc(id, 3)));
  assert.equal(await replica.write(doc(id, 4)), 'written');
  assert.deepEqual(await read(id), expected(doc(id, 4)));
});

test('duplicated, out-of-order writes racing on one document converge on the newest version', async () => {
  const id = randomUUID();
  const versions = [5, 2, 8, 1, 8, 3, 7, 4, 6, 2, 8, 5];
  const t0 = Date.now();
  let contention = 0;
  // Each delivery retries on TransientError as Pub/Sub redelivery would.
  const deliver = async (v: number): Promise<string> => {
    for (;;) {
      try {
        return await replica.write(doc(id, v));
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        contention++;
      }
    }
  };
  const results = await Promise.all(versions.map(deliver));
  process.stderr.write(
    `# ${versions.length} racing writes in ${Date.now() - t0} ms, ${contention} redeliveries after exhausted retries\n`,
  );
  assert.deepEqual(await read(id), expected(doc(id, 8)));
  assert.ok(results.filter((r) => r === 'written').length >= 1);
  assert.ok(results.filter((r) => r === 'stale').length >= 2, 'at least the duplicates of v8 were stale');
});

test('remove leaves a versioned tombstone that older writes cannot resurrect', async () => {
  const id = randomUUID();
  await replica.write(doc(id, 4));
  assert.equal(await replica.remove(id, 5), 'written');
  assert.equal(await replica.write(doc(id, 4)), 'stale');
  assert.equal(await replica.remove(id, 5), 'stale');
  const t = (await firestore.collection('articles').doc(id).get()).data()!;
  assert.equal(t.deleted, true);
  assert.equal(t.version, 5);
  assert.equal(t.title, undefined, 'the content is gone');
  assert.ok(t.expireAt.toMillis() > Date.now() + 29 * 86_400_000, 'expireAt feeds a TTL policy');

  // A removal that arrives before any write still blocks the older writes that follow it.
  const early = randomUUID();
  assert.equal(await replica.remove(early, 3), 'written');
  assert.equal(await replica.write(doc(early, 2)), 'stale');
  assert.equal((await read(early))?.deleted, true);
});

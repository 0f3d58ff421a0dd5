// infra/firestore.rules through the real Firebase client SDK (the `firebase` package a web or mobile app uses)
// against the Firestore emulator with the rules file loaded: each signed-in person reads only their own
// articles, a query sees only theirs, a client that is not signed in reads nothing, and no client writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Firestore as AdminFirestore } from '@google-cloud/firestore';
import { deleteApp, initializeApp, type FirebaseApp } from 'firebase/app';
import {
  collection,
  connectFirestoreEmulator,
  doc,
  getDoc,
  getDocs,
  getFirestore,
  query,
  setDoc,
  terminate,
  where,
  type Firestore,
} from 'firebase/firestore';
import { startFirestoreEmulator, type FirestoreEmulatorHandle } from '../support/services.ts';

const RULES = readFileSync(new URL('../../infra/firestore.rules', import.meta.url), 'utf8');
let emu: FirestoreEmulatorHandle;
let admin: AdminFirestore;
const apps: FirebaseApp[] = [];

/** A client as the app builds it; `uid` signs it in through the emulator's mock token, null leaves it signed out. */
function client(uid: string | null): Firestore {
  const app = initializeApp({ projectId: emu.projectId, apiKey: 'fake-api-key' }, `client-${apps.length}`);
  apps.push(app);
  const db = getFirestore(app);
  const [host, port] = emu.emulatorHost.split(':');
  connectFirestoreEmulator(db, host, Number(port), uid ? { mockUserToken: { sub: uid, user_id: uid } } : {});
  return db;
}

const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: { code?: string }) => err.code ?? String(err),
  );

before(async () => {
  emu = await startFirestoreEmulator({ projectId: 'htbase-rules' });
  const res = await fetch(`http://${emu.emulatorHost}/emulator/v1/projects/${emu.projectId}:securityRules`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ rules: { files: [{ name: 'firestore.rules', content: RULES }] } }),
  });
  assert.equal(res.status, 200, `the emulator took the rules: ${await res.text()}`);
  // The sync function's view: the server SDK, which the rules do not govern.
  admin = new AdminFirestore({ projectId: emu.projectId, host: emu.emulatorHost, ssl: false });
  await admin.doc('articles/a1').set({ id: 'a1', ownerUid: 'uid-alice', title: "Alice's page", version: 1 });
  await admin.doc('articles/a2').set({ id: 'a2', ownerUid: 'uid-alice', title: 'Another of Alice', version: 1 });
  await admin.doc('articles/b1').set({ id: 'b1', ownerUid: 'uid-bob', title: "Bob's page", version: 1 });
  await admin.doc('articles/orphan').set({ id: 'orphan', ownerUid: null, title: 'No owner', version: 1 });
  await admin.doc('secrets/s1').set({ ownerUid: 'uid-alice' });
});
after(async () => {
  for (const app of apps) {
    await terminate(getFirestore(app)).catch(() => undefined);
    await deleteApp(app).catch(() => undefined);
  }
  await admin?.terminate();
  await emu?.stop();
});

test('a signed-in person reads their own article', async () => {
  const alice = client('uid-alice');
  const snap = await getDoc(doc(alice, 'articles/a1'));
  assert.equal(snap.exists(), true);
  assert.equal(snap.data()?.title, "Alice's page");
});

test('another person gets permission-denied on that article and sees only their own in a query', async () => {
  const bob = client('uid-bob');
  assert.equal(await code(getDoc(doc(bob, 'articles/a1'))), 'permission-denied');
  const mine = await getDocs(query(collection(bob, 'articles'), where('ownerUid', '==', 'uid-bob')));
  assert.deepEqual(
    mine.docs.map((d) => d.id),
    ['b1'],
  );
  // A query that is not limited to their own documents is refused as a whole, not silently filtered.
  assert.equal(await code(getDocs(collection(bob, 'articles'))), 'permission-denied');
  assert.equal(
    await code(getDocs(query(collection(bob, 'articles'), where('ownerUid', '==', 'uid-alice')))),
    'permission-denied',
  );
});

test('a client that is not signed in reads nothing', async () => {
  const anon = client(null);
  assert.equal(await code(getDoc(doc(anon, 'articles/a1'))), 'permission-denied');
  assert.equal(await code(getDoc(doc(anon, 'articles/orphan'))), 'permission-denied');
  assert.equal(
    await code(getDocs(query(collection(anon, 'articles'), where('ownerUid', '==', 'uid-alice')))),
    'permission-denied',
  );
});

test('no client writes, not even to its own article, and other collections stay closed', async () => {
  const alice = client('uid-alice');
  assert.equal(
    await code(setDoc(doc(alice, 'articles/a1'), { ownerUid: 'uid-alice', title: 'x' })),
    'permission-denied',
  );
  assert.equal(await code(setDoc(doc(alice, 'articles/new'), { ownerUid: 'uid-alice' })), 'permission-denied');
  assert.equal(await code(getDoc(doc(alice, 'secrets/s1'))), 'permission-denied');
  assert.equal((await admin.doc('articles/a1').get()).data()?.title, "Alice's page", 'nothing was written');
});

// "Sign in with Google" in real Chromium: the real firebase/auth SDK pointed (connectAuthEmulator) at a fake of the
// Firebase Auth emulator, against the API wired as the cloud serves it (keys required, Firebase tokens accepted
// only with the emulator switch on). Sign in by the button's name, see that user's library only, refresh, sign out.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'puppeteer-core';
import { startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { startFakeFirebaseAuth, type FakeFirebaseAuth } from '../fakes/firebase-auth-server.ts';
import { SCREENSHOTS, launchBrowser, seriousViolations, waitForText } from '../support/webapp-browser.ts';
import { ApiConfig, loadConfig } from '../../shared/core/config.ts';
import { createUser } from '../../shared/db/users.ts';
import { createArticle } from '../../shared/db/articles.ts';
import { apiSecurity } from '../../functions/api/security.ts';
import { firebaseWebSettings } from '../../functions/api/config.ts';
import { APP_CSP } from '../../functions/api/web/serve.ts';

const PROJECT = 'htbase-signin-test';
const ALICE_TITLE = 'Alice’s tide tables of Skerryvore';
const BOB_TITLE = 'Bob’s private recipe book';
/** Past the SDK's 30 s refresh margin after 2 s: every later request makes it refresh the token first. */
const TOKEN_LIFETIME = 32;

describe('Google sign-in (Firebase Auth)', () => {
  let fake: FakeFirebaseAuth;
  let h: ApiHarness;
  let url = '';
  let browser: Browser;
  let page: Page;
  let errors: string[] = [];
  const jsBytes = new Map<string, number>();
  /** The Authorization header of every API call the page makes, in order. */
  const sent: string[] = [];

  before(async () => {
    fake = await startFakeFirebaseAuth({ projectId: PROJECT, tokenLifetimeSeconds: TOKEN_LIFETIME });
    h = await startApiHarness();
    const db = h.db.db;
    for (const [name, title] of [
      ['alice', ALICE_TITLE],
      ['bob', BOB_TITLE],
    ] as const) {
      const user = await createUser(db, { name, email: `${name}@example.org` });
      const id = randomUUID();
      const page = `https://${name}.example.org/page`;
      await createArticle(db, {
        id,
        ownerId: user.id,
        url: page,
        normalizedUrl: page,
        formats: ['readable'],
        dedupWindowSeconds: 0,
        force: true,
        leaseSeconds: 60,
      });
      await db.updateTable('articles').set({ title }).where('id', '=', id).execute();
    }
    const config = loadConfig(ApiConfig, { FIREBASE_PROJECT_ID: PROJECT, API_KEYS_REQUIRED: 'true' });
    url = await h.serve({
      ...apiSecurity(config, db, { mode: 'cloud', firebaseEmulator: true }),
      firebaseWeb: firebaseWebSettings({
        FIREBASE_WEB_API_KEY: 'fake-web-api-key',
        FIREBASE_PROJECT_ID: PROJECT,
        FIREBASE_AUTH_EMULATOR_HOST: fake.host,
      }),
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await h?.close();
    await fake?.close();
  });

  test('the settings reach the client and the CSP opens only the auth host', async () => {
    const res = await fetch(`${url}/app/config.json`);
    assert.deepEqual(await res.json(), {
      firebase: {
        apiKey: 'fake-web-api-key',
        authDomain: `${PROJECT}.firebaseapp.com`,
        projectId: PROJECT,
        emulatorUrl: fake.url,
      },
    });
    const csp = (await fetch(`${url}/`)).headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`connect-src 'self' ${fake.url.replace(/[.]/g, '\\.')}(;|$)`));
    assert.match(csp, /script-src 'self';/, 'the emulator needs no foreign script');
    // Without the settings: no button, and the app's policy is untouched.
    assert.deepEqual(await (await fetch(`${h.base}/app/config.json`)).json(), { firebase: null });
    assert.equal((await fetch(`${h.base}/`)).headers.get('content-security-policy'), APP_CSP);
  });

  test('sign in with the button and see only that user’s library', async () => {
    ({ page, errors } = await openAndRecord());
    // The keys-required API answers 401: the sign-in card offers Google.
    const button = await page.waitForSelector('::-p-aria(Sign in with Google)');
    assert.ok(button);
    const firstLoad = [...jsBytes.values()].reduce((a, b) => a + b, 0);
    assert.ok(firstLoad > 0 && firstLoad < 150 * 1024, `first-load JS gzipped: ${firstLoad} bytes`);
    assert.ok(firstLoad < 60 * 1024, `the Firebase SDK is not in the first load (${firstLoad} bytes gzipped)`);
    assert.deepEqual(await seriousViolations(page), [], 'axe on the sign-in card');
    await waitForText(page, '::-p-aria(Library)', 'Sign in to continue: with Google, or paste an API key.', 10_000);

    // Bad input gets a clear sentence, and no request.
    await page.locator('::-p-aria(Emulator account email)').fill('not-an-address');
    await page.locator('::-p-aria(Sign in with Google)').click();
    await waitForText(page, '::-p-aria(Sign in)', 'Enter the test account’s email address.', 15_000);
    assert.equal(fake.counts.signIns, 0);

    await page.locator('::-p-aria(Emulator account email)').fill('alice@example.org');
    await page.locator('::-p-aria(Sign in with Google)').click();
    await page.waitForSelector('::-p-aria(Sign out)');
    await waitForText(page, 'header', 'Signed in as alice@example.org', 10_000);
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${ALICE_TITLE})`);
    assert.equal(await page.$(`::-p-aria(${BOB_TITLE})`), null, 'another user’s archive is not listed');
    assert.equal(await page.$('::-p-aria(Sign in with Google)'), null, 'the card is gone');
    assert.equal(fake.counts.signIns, 1);
    assert.equal(sent.at(-1), `Bearer ${fake.minted.at(-1)}`, 'the ID token is sent as Bearer');
    const chunk = [...jsBytes.keys()].find((u) => jsBytes.get(u)! > 20 * 1024 && /\/app\/chunk-/.test(u));
    assert.ok(chunk, `the SDK came as a split chunk: ${[...jsBytes.keys()].join(', ')}`);
    // The user's row now carries the Firebase uid: the same uid the mobile app's sign-in gives.
    const alice = await h.db.db
      .selectFrom('users')
      .select('firebase_uid')
      .where('name', '=', 'alice')
      .executeTakeFirst();
    assert.equal(alice?.firebase_uid, fake.uidFor('alice@example.org'));
    assert.deepEqual(await seriousViolations(page), [], 'axe on the signed-in library');
    await page.setViewport({ width: 375, height: 800 });
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 375, 'no overflow at 375 px');
    await page.screenshot({ path: `${SCREENSHOTS}google-signed-in-375.png` });
    await page.setViewport({ width: 1280, height: 800 });
    assert.deepEqual(errors, []);
  });

  test('the session survives a reload and its token is refreshed before it expires', async () => {
    const tokens = fake.minted.length;
    await new Promise((r) => setTimeout(r, 2500)); // inside the SDK's 30 s margin: the next call refreshes first
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${ALICE_TITLE})`);
    assert.equal(await page.$('::-p-aria(Sign in with Google)'), null, 'restored without signing in again');
    assert.ok(fake.counts.refreshes >= 1, `refreshes: ${fake.counts.refreshes}`);
    assert.ok(fake.minted.length > tokens, 'a new ID token was minted');
    assert.equal(fake.counts.signIns, 1, 'no second sign-in');
    assert.equal(sent.at(-1), `Bearer ${fake.minted.at(-1)}`, 'the refreshed token is the one sent');
    assert.notEqual(sent.at(-1), `Bearer ${fake.minted[tokens - 1]}`, 'not the old one');
    assert.deepEqual(errors, []);
  });

  test('sign out: the library is closed again, and stays so after a reload', async () => {
    await page.locator('::-p-aria(Sign out)').click();
    await page.waitForSelector('::-p-aria(Sign in with Google)');
    assert.equal(await page.$(`::-p-aria(${ALICE_TITLE})`), null);
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector('::-p-aria(Sign in with Google)');
    assert.equal(await page.$('::-p-aria(Sign out)'), null);
    assert.deepEqual(errors, []);
  });

  test('a Google account with no user here is told so', async () => {
    await page.locator('::-p-aria(Emulator account email)').fill('carol@example.net');
    await page.locator('::-p-aria(Sign in with Google)').click();
    await waitForText(page, '::-p-aria(Library)', 'This account is not allowed', 15_000);
    assert.equal(await page.$(`::-p-aria(${ALICE_TITLE})`), null);
    assert.equal(await page.$(`::-p-aria(${BOB_TITLE})`), null);
    const carol = await h.db.db
      .selectFrom('users')
      .select('id')
      .where('email', '=', 'carol@example.net')
      .executeTakeFirst();
    assert.equal(carol, undefined, 'no user was created');
  });

  test('another user sees theirs only; a session ended by Google signs the app out', async () => {
    await page.locator('::-p-aria(Sign out)').click();
    await page.locator('::-p-aria(Emulator account email)').fill('bob@example.org');
    await page.locator('::-p-aria(Sign in with Google)').click();
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${BOB_TITLE})`);
    assert.equal(await page.$(`::-p-aria(${ALICE_TITLE})`), null, 'Alice’s archive is not Bob’s');
    assert.equal(sent.at(-1), `Bearer ${fake.minted.at(-1)}`, 'a second sign-in in the same page sends its token');
    fake.revoke('bob@example.org');
    await new Promise((r) => setTimeout(r, 2500)); // the token is now due for a refresh, which Google refuses
    await page.locator('::-p-aria(Search)').fill('recipe');
    await page.waitForSelector('::-p-aria(Sign in with Google)');
    assert.equal(await page.$('::-p-aria(Sign out)'), null, 'the header no longer says signed in');
    assert.equal(await page.$(`::-p-aria(${BOB_TITLE})`), null);
    assert.deepEqual(errors, []);
    await page.close();
  });

  /** Opens the app (as openApp does) and records each JS response's gzipped size: what the first load costs. */
  async function openAndRecord(): Promise<{ page: Page; errors: string[] }> {
    const p = await browser.newPage();
    const seen: string[] = [];
    p.on('pageerror', (err) => seen.push(String(err)));
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) seen.push(m.text());
    });
    p.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/archives')) sent.push(r.headers()['authorization'] ?? '');
    });
    p.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (!path.endsWith('.js') || path === '/sw.js') return;
      r.buffer().then(
        (b) => jsBytes.set(r.url(), gzipSync(b).length),
        () => {},
      );
    });
    await p.goto(url, { waitUntil: 'networkidle0' });
    return { page: p, errors: seen };
  }
});

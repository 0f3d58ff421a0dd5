// "Sign in with Google" in real Chromium: the real firebase/auth SDK pointed (connectAuthEmulator) at the real
// Firebase Auth emulator (firebase-tools), against the API wired as the cloud serves it (keys required, Firebase
// tokens accepted only with the emulator switch on). Sign in by the button's name, see that user's library only.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Browser, Page } from 'puppeteer-core';
import { startApiHarness, type ApiHarness } from '../support/api-harness.ts';
import { startFirebaseAuthEmulator, type FirebaseAuthEmulatorHandle } from '../support/firebase-auth-emulator.ts';
import { SCREENSHOTS, launchBrowser, seriousViolations, waitForText } from '../support/webapp-browser.ts';
import { ApiConfig, loadConfig } from '../../shared/core/config.ts';
import { createUser } from '../../shared/db/users.ts';
import { createArticle } from '../../shared/db/articles.ts';
import { apiSecurity } from '../../functions/api/security.ts';
import { firebaseWebSettings } from '../../functions/api/config.ts';
import { APP_CSP } from '../../functions/api/web/serve.ts';

const PROJECT = 'demo-htbase-signin';
const ALICE_TITLE = 'Alice’s tide tables of Skerryvore';
const BOB_TITLE = 'Bob’s private recipe book';
/**
 * The emulator's ID tokens live an hour, and the SDK refreshes one only within 30 s of its expiry. Moving the page's
 * clock (Date.now, which the SDK's expiry check reads) 59 min 45 s ahead, as after a laptop sleeps for an hour,
 * makes the real SDK refresh through the real emulator; the API keeps checking tokens on the real clock.
 */
const CLOCK_STEP_MS = (59 * 60 + 45) * 1000;
const CLOCK_SCRIPT = `(() => {
  const key = 'htbase.test.clockOffsetMs';
  const realNow = Date.now.bind(Date);
  let offset = Number(sessionStorage.getItem(key)) || 0;
  Object.defineProperty(window, '__htbaseClockOffset', {
    get: () => offset,
    set: (v) => { offset = v; sessionStorage.setItem(key, String(v)); },
  });
  Date.now = () => realNow() + offset;
})();`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('Google sign-in (Firebase Auth)', () => {
  let emu: FirebaseAuthEmulatorHandle;
  let h: ApiHarness;
  let url = '';
  let browser: Browser;
  let page: Page;
  let errors: string[] = [];
  const jsBytes = new Map<string, number>();
  /** The Authorization header of every API call the page makes, in order. */
  const sent: string[] = [];
  /** What the page asked of the emulator: Google sign-ins, token refreshes (answered 200), ID tokens it got. */
  const counts = { signInRequests: 0, signIns: 0, refreshes: 0 };
  const minted: string[] = [];
  const pending: Promise<void>[] = [];
  /** Waits until every emulator answer seen so far has been read. */
  const settled = async () => void (await Promise.all(pending.splice(0)));

  before(async () => {
    emu = await startFirebaseAuthEmulator({ projectId: PROJECT });
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
        FIREBASE_AUTH_EMULATOR_HOST: emu.emulatorHost,
      }),
    });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await h?.close();
    await emu?.stop();
    // The CLI spawns children: the whole process group it led is gone, nothing is left running.
    if (emu) assert.throws(() => process.kill(-emu.pid, 0), { code: 'ESRCH' });
  });

  test('the settings reach the client and the CSP opens only the auth host', async () => {
    const res = await fetch(`${url}/app/config.json`);
    assert.deepEqual(await res.json(), {
      firebase: {
        apiKey: 'fake-web-api-key',
        authDomain: `${PROJECT}.firebaseapp.com`,
        projectId: PROJECT,
        emulatorUrl: emu.url,
      },
    });
    const csp = (await fetch(`${url}/`)).headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`connect-src 'self' ${emu.url.replace(/[.]/g, '\\.')}(;|$)`));
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
    assert.equal(counts.signInRequests, 0, 'no request reached the emulator');

    await page.locator('::-p-aria(Emulator account email)').fill('alice@example.org');
    await page.locator('::-p-aria(Sign in with Google)').click();
    await page.waitForSelector('::-p-aria(Sign out)');
    await waitForText(page, 'header', 'Signed in as alice@example.org', 10_000);
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${ALICE_TITLE})`);
    assert.equal(await page.$(`::-p-aria(${BOB_TITLE})`), null, 'another user’s archive is not listed');
    assert.equal(await page.$('::-p-aria(Sign in with Google)'), null, 'the card is gone');
    await settled();
    assert.equal(counts.signIns, 1);
    assert.equal(sent.at(-1), `Bearer ${minted.at(-1)}`, 'the ID token is sent as Bearer');
    const chunk = [...jsBytes.keys()].find((u) => jsBytes.get(u)! > 20 * 1024 && /\/app\/chunk-/.test(u));
    assert.ok(chunk, `the SDK came as a split chunk: ${[...jsBytes.keys()].join(', ')}`);
    // The user's row now carries the Firebase uid: the same uid the mobile app's sign-in gives.
    const alice = await h.db.db
      .selectFrom('users')
      .select('firebase_uid')
      .where('name', '=', 'alice')
      .executeTakeFirst();
    const aliceAccount = await emu.account('alice@example.org');
    assert.deepEqual(aliceAccount?.providers, ['google.com'], 'the emulator holds Alice’s Google-linked account');
    assert.equal(alice?.firebase_uid, aliceAccount?.uid);
    assert.deepEqual(await seriousViolations(page), [], 'axe on the signed-in library');
    await page.setViewport({ width: 375, height: 800 });
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 375, 'no overflow at 375 px');
    await page.screenshot({ path: `${SCREENSHOTS}google-signed-in-375.png` });
    await page.setViewport({ width: 1280, height: 800 });
    assert.deepEqual(errors, []);
  });

  test('the session survives a reload and its token is refreshed before it expires', async () => {
    await settled();
    const tokens = minted.length;
    assert.equal(counts.refreshes, 0, 'a fresh token is not refreshed');
    await sleep(1100); // the emulator's iat has 1 s resolution: the refreshed token must differ from the old one
    await moveClock(CLOCK_STEP_MS); // the token now has under 30 s left: the next call refreshes it first
    await page.reload({ waitUntil: 'networkidle0' });
    await page.waitForSelector(`::-p-aria(Archives) ::-p-aria(${ALICE_TITLE})`);
    assert.equal(await page.$('::-p-aria(Sign in with Google)'), null, 'restored without signing in again');
    await settled();
    assert.ok(counts.refreshes >= 1, `refreshes: ${counts.refreshes}`);
    assert.ok(minted.length > tokens, 'a new ID token was minted');
    assert.equal(counts.signIns, 1, 'no second sign-in');
    assert.equal(sent.at(-1), `Bearer ${minted.at(-1)}`, 'the refreshed token is the one sent');
    assert.notEqual(sent.at(-1), `Bearer ${minted[tokens - 1]}`, 'not the old one');
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
    await settled();
    assert.equal(sent.at(-1), `Bearer ${minted.at(-1)}`, 'a second sign-in in the same page sends its token');
    const refreshes = counts.refreshes;
    await emu.disable('bob@example.org');
    assert.equal((await emu.account('bob@example.org'))?.disabled, true);
    await moveClock(CLOCK_STEP_MS); // Bob's token is now due for a refresh, which the emulator refuses
    await page.locator('::-p-aria(Search)').fill('recipe');
    await page.waitForSelector('::-p-aria(Sign in with Google)');
    assert.equal(await page.$('::-p-aria(Sign out)'), null, 'the header no longer says signed in');
    assert.equal(await page.$(`::-p-aria(${BOB_TITLE})`), null);
    await settled();
    assert.equal(counts.refreshes, refreshes, 'the refused refresh minted no token');
    assert.deepEqual(errors, []);
    await page.close();
  });

  /** Moves the page's clock forward (kept across reloads of the tab): what the SDK's token expiry check reads. */
  async function moveClock(ms: number): Promise<void> {
    await page.evaluate((step) => {
      const w = window as unknown as { __htbaseClockOffset: number };
      w.__htbaseClockOffset += step;
    }, ms);
  }

  /**
   * Opens the app (as openApp does) with a movable clock, records each JS response's gzipped size (what the first
   * load costs) and what the page asks of the emulator.
   */
  async function openAndRecord(): Promise<{ page: Page; errors: string[] }> {
    const p = await browser.newPage();
    await p.evaluateOnNewDocument(CLOCK_SCRIPT);
    const seen: string[] = [];
    p.on('pageerror', (err) => seen.push(String(err)));
    p.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) seen.push(m.text());
    });
    p.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/archives')) sent.push(r.headers()['authorization'] ?? '');
      if (r.method() === 'POST' && r.url().startsWith(`${emu.url}/`) && r.url().includes('accounts:signInWithIdp'))
        counts.signInRequests++;
    });
    p.on('response', (r) => {
      if (r.request().method() !== 'POST' || !r.url().startsWith(`${emu.url}/`) || !r.ok()) return;
      const path = new URL(r.url()).pathname;
      const kind = path.endsWith('/accounts:signInWithIdp')
        ? 'signIns'
        : path === '/securetoken.googleapis.com/v1/token'
          ? 'refreshes'
          : null;
      if (!kind) return;
      counts[kind]++;
      const slot = minted.push('') - 1; // in the order the answers came, however their bodies are read
      pending.push(
        r.json().then((b: { idToken?: string; id_token?: string }) => {
          minted[slot] = b.idToken ?? b.id_token ?? '';
        }),
      );
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

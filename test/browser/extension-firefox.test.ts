// The browser extension in Firefox (firefox-esr over WebDriver BiDi): the zip the app serves, installed as a
// temporary add-on, archives a fixture page from its popup through the API (CORS from its moz-extension:// origin,
// allowed by the install's UUID in ALLOWED_EXTENSION_IDS) and shows the progress to "Archived"; a server that does
// not list the install is refused by Firefox's CORS check and the popup says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, type Browser } from 'puppeteer-core';
import { serveDir, type StaticServer } from '../support/static-server.ts';
import { http, startTestEmbedded, tempDir } from '../support/embedded.ts';
import { keyFor } from '../support/owners.ts';
import { DEVTOOLS_PREFS, FirefoxDevtools, type ExtensionFrame } from '../support/firefox-devtools.ts';
import type { Embedded } from '../../containers/standalone/app.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/site/', import.meta.url));
const FIREFOX = [process.env.EXTENSION_FIREFOX_PATH, '/usr/bin/firefox-esr'].find((p) => p && existsSync(p));
// CI installs it (.ci/run): there a missing Firefox fails the test instead of skipping it.
const skip =
  FIREFOX || process.env.CI ? false : 'needs Firefox: apt-get install firefox-esr, or set EXTENSION_FIREFOX_PATH';
const GECKO_ID = 'extension@htbase.invalid';
/** Firefox picks a random UUID per install; a pref fixes it in advance so the server can be told before launch. */
const UUID = randomUUID();
/** Another install (a Chrome id) listed beside it: the list takes both kinds. */
const CHROME_ID = 'abcdefghijklmnopabcdefghijklmnop';

let site: StaticServer;
let dir: { path: string; remove(): Promise<void> };
let other: { path: string; remove(): Promise<void> };
let app: Embedded;
let stranger: Embedded;
let browser: Browser;
let devtools: FirefoxDevtools;
let key: string;

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

before(async () => {
  site = await serveDir(FIXTURE);
  dir = await tempDir();
  other = await tempDir();
  app = await startTestEmbedded(dir.path, {
    ALLOWED_EXTENSION_IDS: `${CHROME_ID}, ${UUID}`,
    API_KEYS_REQUIRED: 'true',
  });
  // A server that does not list this install: Firefox must refuse the popup's requests to it.
  stranger = await startTestEmbedded(other.path, { API_KEYS_REQUIRED: 'true' });
  key = await keyFor(app.db.db, 'extension');
  if (!FIREFOX) return;
  const port = await freePort();
  browser = await launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    args: ['--start-debugger-server', String(port)],
    extraPrefsFirefox: { ...DEVTOOLS_PREFS, 'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: UUID }) },
  });
  devtools = await FirefoxDevtools.connect(port);
});

after(async () => {
  devtools?.close();
  await browser?.close();
  await app?.close();
  await stranger?.close();
  await site?.close();
  await dir?.remove();
  await other?.remove();
});

/** Types into the input its label names, as a person would, and lets the page see the input event. */
const fill = (label: string, value: string) => `{
  const l = [...document.querySelectorAll('label')].find((x) => x.textContent.trim() === ${JSON.stringify(label)});
  const input = l.control;
  input.focus();
  input.value = ${JSON.stringify(value)};
  input.dispatchEvent(new Event('input', { bubbles: true }));
}`;
/** Clicks the button its text names, if it is shown. */
const click = (name: string) => `{
  const b = [...document.querySelectorAll('button')].find((x) => x.textContent.trim() === ${JSON.stringify(name)});
  if (!b || !b.checkVisibility()) throw new Error('no visible button ' + ${JSON.stringify(name)});
  b.click();
}`;

async function until<T>(frame: ExtensionFrame, js: string, ok: (v: T) => boolean, ms = 60_000): Promise<T[]> {
  const seen: T[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await frame.evaluate<T>(js);
    if (!seen.includes(v)) seen.push(v);
    if (ok(v) || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 200));
  }
}

test(
  'the extension, installed in Firefox from the served zip, archives a page and shows its progress',
  { skip },
  async () => {
    const zip = await http<Buffer>(app.url, '/extension.zip');
    assert.equal(zip.status, 200);
    const xpi = join(dir.path, 'htbase-extension.zip');
    await writeFile(xpi, zip.body);
    assert.equal(await browser.installExtension(xpi), GECKO_ID, 'Firefox installs the zip under its gecko id');
    await devtools.watchAddon(GECKO_ID);

    // The MV3 background (background.scripts in Firefox) runs; it opens the popup in a tab (headless Firefox has no
    // toolbar button to click), as the Chromium test opens it.
    const background = await devtools.frame(/_generated_background_page\.html$/);
    await background.evaluate(`browser.tabs.create({ url: 'popup.html' }).then(() => 'ok')`);
    let popup = await devtools.frame(/\/popup\.html$/);
    assert.ok(popup.url.startsWith(`moz-extension://${UUID}/`), popup.url);
    const shown = await until<boolean>(
      popup,
      `document.readyState === 'complete' && !document.getElementById('settings').hidden`,
      Boolean,
    );
    assert.equal(shown.at(-1), true, 'a first start asks for the server settings');
    assert.equal(
      await popup.evaluate(`document.getElementById('extid').textContent`),
      UUID,
      'the settings show the UUID the server must list, not the gecko id',
    );

    // A server that does not list this install: Firefox's CORS check refuses, and the popup says what to fix.
    await popup.evaluate(fill('Server address', stranger.url));
    await popup.evaluate(fill('API key', key));
    await popup.evaluate(click('Save'));
    const refused = await until<string>(
      popup,
      `document.getElementById('settings-error').textContent`,
      (t) => t !== '',
    );
    assert.match(refused.at(-1)!, /Cannot reach .*ALLOWED_EXTENSION_IDS/, refused.join(' | '));

    await popup.evaluate(fill('Server address', app.url));
    await popup.evaluate(fill('API key', 'htb_wrong-key-000000000000000000000000'));
    await popup.evaluate(click('Save'));
    const wrong = await until<string>(popup, `document.getElementById('settings-error').textContent`, (t) =>
      /refused the API key/.test(t),
    );
    assert.match(wrong.at(-1)!, /refused the API key/, wrong.join(' | '));
    await popup.evaluate(fill('API key', key));
    await popup.evaluate(click('Save'));
    // Save stores the settings once the server accepts the key, then shows the archive view.
    const saved = await until<boolean>(popup, `!document.getElementById('archive').hidden`, Boolean);
    assert.equal(saved.at(-1), true, 'the archive view is shown once the key is accepted');

    // The context-menu path: the popup opened for a URL archives it at once.
    const target = `${site.origin}/index.html`;
    await background.evaluate(
      `browser.tabs.create({ url: 'popup.html#url=' + encodeURIComponent(${JSON.stringify(target)}) }).then(() => 'ok')`,
    );
    popup = await devtools.frame(/\/popup\.html#url=/);
    const seen = await until<string>(
      popup,
      `document.getElementById('progress')?.textContent ?? ''`,
      (t) => /^Archived|failed/.test(t),
      120_000,
    );
    const text = seen.at(-1)!;
    assert.match(text, /^Archived/, seen.join(' | '));
    assert.ok(
      seen.some((s) => /Archiving… \d of \d formats done/.test(s)),
      `progress was shown: ${seen.join(' | ')}`,
    );
    const items = JSON.parse(
      await popup.evaluate<string>(
        `JSON.stringify([...document.querySelectorAll('[aria-label=Formats] li')].map((li) => li.textContent))`,
      ),
    ) as string[];
    assert.ok(items.includes('singlefile: succeeded'), items.join(', '));

    const href = await popup.evaluate<string>(`document.getElementById('open').href`);
    const id = /#\/archives\/([0-9a-f-]{36})$/.exec(href)![1]!;
    const a = (await http(app.url, `/archives/${id}`, { headers: { Authorization: `Bearer ${key}` } })).body;
    assert.ok(['complete', 'partial'].includes(a.status), a.status);
    assert.equal(a.url, target);
  },
);

test('CORS answers a Firefox install listed by its UUID, and no other moz-extension origin', async () => {
  const pre = (base: string, origin: string) =>
    fetch(`${base}/archive`, {
      method: 'OPTIONS',
      headers: {
        Origin: origin,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'authorization, content-type',
      },
    });
  const ok = await pre(app.url, `moz-extension://${UUID}`);
  assert.equal(ok.status, 204);
  assert.equal(ok.headers.get('access-control-allow-origin'), `moz-extension://${UUID}`);
  assert.match(ok.headers.get('access-control-allow-headers') ?? '', /Authorization/);
  const chrome = await pre(app.url, `chrome-extension://${CHROME_ID}`);
  assert.equal(chrome.headers.get('access-control-allow-origin'), `chrome-extension://${CHROME_ID}`);
  for (const [base, origin] of [
    [app.url, `moz-extension://${randomUUID()}`],
    [stranger.url, `moz-extension://${UUID}`],
  ] as const) {
    const no = await pre(base, origin);
    assert.equal(no.status, 403, origin);
    assert.equal(no.headers.get('access-control-allow-origin'), null, origin);
  }
});

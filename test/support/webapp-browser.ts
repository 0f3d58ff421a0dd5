// Drives the web app in real Chromium for the browser tests: launch, axe-core checks, a recorder of the
// artifact states the add form shows, and screenshots for the README.
import { mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, type Browser, type Page } from 'puppeteer-core';
import { resolveChromium } from '../../containers/browser/chromium.ts';

const AXE = readFileSync(fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url)), 'utf8');
/**
 * Where the tests leave their screenshots: a temp folder, or WEBAPP_SCREENSHOTS (set it to
 * functions/api/web/screenshots to refresh the README's images).
 */
export const SCREENSHOTS = join(process.env.WEBAPP_SCREENSHOTS ?? join(tmpdir(), 'htbase-webapp-screenshots'), '/');
mkdirSync(SCREENSHOTS, { recursive: true });

export async function launchBrowser(): Promise<Browser> {
  const spec = await resolveChromium({ executablePath: process.env.CHROME_PATH });
  return launch({
    executablePath: spec.executablePath,
    args: spec.args,
    headless: true,
    defaultViewport: { width: 1280, height: 800 },
  });
}

/** A fresh page that fails the test on any CSP violation or uncaught error in the app. */
export async function openApp(browser: Browser, url: string, width = 1280): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width, height: 800 });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) errors.push(m.text());
  });
  await page.goto(url, { waitUntil: 'networkidle0' });
  return { page, errors };
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Runs axe-core in the page (injected as a script: the app's CSP allows no inline or foreign script). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Evaluated through CDP, which the page's CSP does not govern.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: AxeViolation[] }> } }
    ).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target })),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Records, in the page, every "Format: state" text the progress list shows, so the test sees the pending
 * state even when the capture finishes between two of its own looks.
 */
export async function recordProgress(page: Page): Promise<void> {
  // A string, not a function: tsx's keepNames would wrap named inner functions in a helper the page lacks.
  await page.evaluate(`(() => {
    window.seen = {};
    const look = () => {
      const list = document.querySelector('[aria-label="Progress"]');
      for (const li of list ? list.querySelectorAll('li li') : []) {
        const [fmt, state] = (li.textContent || '').split(': ');
        if (!fmt || !state) continue;
        const states = (window.seen[fmt] ??= []);
        if (states[states.length - 1] !== state) states.push(state);
      }
    };
    new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true });
  })()`);
}

export const seenStates = (page: Page) => page.evaluate('window.seen') as Promise<Record<string, string[]>>;

/** Waits until `text` appears inside the element found by `selector` (a ::-p-aria or CSS selector). */
export async function waitForText(page: Page, selector: string, text: string, timeout = 120_000): Promise<void> {
  const deadline = Date.now() + timeout;
  for (;;) {
    const el = await page.$(selector);
    const got = el ? await el.evaluate((e) => e.textContent ?? '') : '';
    if (got.includes(text)) return;
    if (Date.now() > deadline) throw new Error(`"${text}" never appeared in ${selector}; last: ${got.slice(0, 300)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The rules each frame is sent (containers/browser/consent-rules.ts) against autoconsent's own frame checks, worked
// out independently from the full rule set; and the pass-end marker placed in the installed autoconsent script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PASS_ENDED, PASS_END_ANCHOR, consentAssets, rulesForFrame } from '../../containers/browser/consent-rules.ts';

interface FullRule {
  name: string;
  runContext?: { main?: boolean; frame?: boolean; urlPattern?: string };
}
type Compact = { compact: { s: string[]; r: Array<[number, string, ...unknown[]]> } };

/** What autoconsent keeps in a frame (checkFrameContext and hasMatchingUrlPattern in its source), by rule name. */
function expected(full: FullRule[], url: string, top: boolean): string[] {
  return full
    .filter((r) => {
      const c = { main: true, frame: false, urlPattern: '', ...r.runContext };
      if (top ? !c.main : !c.frame) return false;
      return !c.urlPattern || new RegExp(c.urlPattern).test(url);
    })
    .map((r) => r.name)
    .sort();
}

/** The largest index into the string table a compact rule uses (prehide selectors and rule-step selectors). */
function maxStringRef(rule: unknown[]): number {
  const keys = new Set(['e', 'v', 'c', 'k', 'w', 'wv', 'h', 'cc']);
  const refs: number[] = [...((rule[5] as number[]) ?? [])];
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object')
      for (const [k, v] of Object.entries(x)) {
        if (keys.has(k) && typeof v === 'number') refs.push(v);
        else walk(v);
      }
  };
  for (const i of [6, 7, 8, 9]) walk(rule[i]);
  return Math.max(-1, ...refs);
}

const full = consentAssets().full as FullRule[];
/** A URL a site-specific rule's pattern matches, made from the pattern's first literal host; null if it has none. */
function urlFor(rule: FullRule): string | null {
  const m = /([a-z0-9-]+(?:\\\.[a-z0-9-]+)+)/i.exec(rule.runContext?.urlPattern ?? '');
  const url = m ? `https://${m[1]!.replace(/\\\./g, '.')}/` : null;
  return url && new RegExp(rule.runContext!.urlPattern!).test(url) ? url : null;
}
const site = full.find((r) => r.runContext?.main !== false && !r.runContext?.frame && urlFor(r))!;
const frameSite = full.find((r) => r.runContext?.frame && urlFor(r))!;

test('the installed autoconsent script takes the pass-end marker', () => {
  const a = consentAssets();
  assert.equal(a.passMarker, true, `autoconsent no longer has "${PASS_END_ANCHOR}": update consent-rules.ts`);
  assert.ok(a.script.includes(`type: "${PASS_ENDED}"`));
  assert.equal(a.script.split(PASS_ENDED).length, 2, 'the marker is placed once');
});

for (const [label, url, top] of [
  ['a top frame of an ordinary site', 'https://news.example/article', true],
  ['a subframe of an ad server', 'https://ads.example/frame.html', false],
  ['a top frame a site-specific rule names', urlFor(site)!, true],
  ['a subframe a site-specific frame rule names', urlFor(frameSite)!, false],
] as const) {
  test(`opt-out: ${label} is sent exactly the rules autoconsent would keep there`, () => {
    const sent = rulesForFrame('optout', url, top) as Compact;
    assert.deepEqual(sent.compact.r.map((r) => r[1]).sort(), expected(full, url, top));
    for (const r of sent.compact.r) assert.ok(maxStringRef(r) < sent.compact.s.length, `${r[1]} has its strings`);
  });
  test(`opt-in: ${label} is sent exactly the rules autoconsent would keep there`, () => {
    const sent = rulesForFrame('optin', url, top) as { autoconsent: FullRule[] };
    assert.deepEqual(sent.autoconsent.map((r) => r.name).sort(), expected(full, url, top));
  });
}

test('the site-specific cases are real: their rule is among those sent', () => {
  const names = (rulesForFrame('optout', urlFor(site)!, true) as Compact).compact.r.map((r) => r[1]);
  assert.ok(names.includes(site.name));
  const frameNames = (rulesForFrame('optout', urlFor(frameSite)!, false) as Compact).compact.r.map((r) => r[1]);
  assert.ok(frameNames.includes(frameSite.name));
});

test('a frame whose kind is unknown gets the whole set, and a top frame far less than that', () => {
  const whole = rulesForFrame('optout', 'https://news.example/', undefined) as Compact;
  assert.equal(whole.compact.r.length, consentAssets().compact.r.length);
  const top = JSON.stringify(rulesForFrame('optout', 'https://news.example/', true)).length;
  assert.ok(top < JSON.stringify(whole).length / 2, `top frame rules ${top} bytes`);
  assert.equal(
    (rulesForFrame('optin', 'https://x.example/', undefined) as { autoconsent: unknown[] }).autoconsent.length,
    full.length,
  );
});

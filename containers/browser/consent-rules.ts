// autoconsent's content script and rule set, read once per process, and the rules each frame is sent: only those
// that can run in it (its kind's generic rules and the site-specific ones whose URL pattern matches it).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

/**
 * The line where a detection pass that found nothing starts its 500 ms wait for the next. The marker sent there
 * tells the capture that a pass has ended, so it waits for exactly two passes instead of a fixed 1.5 s (issue 17).
 * If an upgrade of autoconsent moves the line, the capture falls back to the fixed wait (test/unit keeps it found).
 */
export const PASS_END_ANCHOR = 'const waitFor2 = [this.domActions.wait(500)];';
export const PASS_ENDED = 'htbaseDetectionPassEnded';

/** A declarative rule in autoconsent's compact encoding: [version, name, cosmetic, urlPattern, frameCode, ...]. */
type CompactRule = [number, string, number, string, number, ...unknown[]];
interface CompactRules {
  v: number;
  s: string[];
  r: CompactRule[];
  /** Ranges of the sorted encoding: generic rules first, then frame rules; their strings come first too. */
  index: {
    genericRuleRange: [number, number];
    frameRuleRange: [number, number];
    genericStringEnd: number;
    frameStringEnd: number;
  };
}
interface FullRule {
  runContext?: { main?: boolean; frame?: boolean; urlPattern?: string };
}

interface Assets {
  script: string;
  /** Whether the pass-end marker could be put in the script. */
  passMarker: boolean;
  compact: CompactRules;
  compactPatterns: Array<RegExp | null>;
  full: FullRule[];
  fullPatterns: Array<RegExp | null>;
}

let assets: Assets | null = null;
const pattern = (p: string | undefined): RegExp | null => {
  if (!p) return null;
  try {
    return new RegExp(p);
  } catch {
    return /$^/; // a pattern JavaScript cannot compile matches nothing in the page either
  }
};

/** The content script (with the pass-end marker) and both rule sets (opt-out uses the compact set, opt-in the full). */
export function consentAssets(): Assets {
  if (!assets) {
    const pkg = dirname(dirname(require.resolve('@duckduckgo/autoconsent/rules/rules.json'))); // package.json is not exported
    const raw = readFileSync(join(pkg, 'dist/autoconsent.playwright.js'), 'utf8');
    const marker = `this.sendContentMessage({ type: "${PASS_ENDED}", attempt: this.state.findCmpAttempts }); `;
    const compact = JSON.parse(readFileSync(join(pkg, 'rules/compact-rules.json'), 'utf8')) as CompactRules;
    const full = (JSON.parse(readFileSync(join(pkg, 'rules/rules.json'), 'utf8')) as { autoconsent: FullRule[] })
      .autoconsent;
    assets = {
      script: raw.includes(PASS_END_ANCHOR) ? raw.replace(PASS_END_ANCHOR, marker + PASS_END_ANCHOR) : raw,
      passMarker: raw.includes(PASS_END_ANCHOR),
      compact,
      compactPatterns: compact.r.map((r) => pattern(r[3])),
      full,
      fullPatterns: full.map((r) => pattern(r.runContext?.urlPattern)),
    };
  }
  return assets;
}

/** autoconsent's nullable booleans in a compact rule's frame code: tens digit main frame, units digit subframes. */
function compactContext(code: number): { main: boolean; frame: boolean } {
  const flag = (d: number, dflt: boolean) => (d === 1 ? true : d === 0 ? false : dflt);
  return { main: flag(Math.floor(code / 10) % 10, true), frame: flag(code % 10, false) };
}

/**
 * The rules one frame is sent at init. autoconsent itself discards, in the frame, every rule whose context or URL
 * pattern does not fit it (checkFrameContext, hasMatchingUrlPattern); sending only the others gives the same
 * detection for a fraction of the bytes each frame parses (the whole set is 257 kB, the top frame's generic
 * rules about 66 kB, a subframe's a few). `top` unknown: the whole set.
 */
export function rulesForFrame(mode: 'optout' | 'optin', url: string, top: boolean | undefined): unknown {
  const a = consentAssets();
  if (mode === 'optin') {
    if (top === undefined) return { autoconsent: a.full };
    return {
      autoconsent: a.full.filter((r, i) => {
        const c = { main: true, frame: false, ...r.runContext };
        const re = a.fullPatterns[i];
        return (top ? c.main : c.frame) && (!re || re.test(url));
      }),
    };
  }
  const c = a.compact;
  if (top === undefined || !c.index) return { compact: c };
  const keep: CompactRule[] = [];
  let specific = false;
  c.r.forEach((r, i) => {
    const ctx = compactContext(r[4]);
    const re = a.compactPatterns[i];
    if (!(top ? ctx.main : ctx.frame) || (re && !re.test(url))) return;
    keep.push(r);
    if (re) specific = true;
  });
  // Generic rules use only the first strings of the table; a site-specific rule may use any of them.
  const end = specific ? c.s.length : top ? c.index.genericStringEnd : c.index.frameStringEnd;
  return { compact: { v: c.v, s: c.s.slice(0, end), r: keep } };
}

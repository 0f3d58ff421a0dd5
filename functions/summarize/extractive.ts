// The offline summarizer: picks an article's key sentences in its own language (no model, no network).
// Sentences come from Intl.Segmenter, are scored by the frequency of their content words (stopwords
// of the detected language removed), and are returned in reading order; tags are the top terms.
import type { Summarizer, SummaryInput, SummaryResult } from '../../shared/core/ports.ts';
import { ANY_STOPWORD, KNOWN_LANGUAGES, STOPWORDS } from './stopwords.ts';

export interface ExtractiveOptions {
  /** Sentences in the summary. */
  summarySentences?: number;
  /** Sentences offered as key points (besides the summary's). */
  keyPoints?: number;
  tags?: number;
  /** Bounds the work on huge texts: only the first this-many characters are read. */
  maxChars?: number;
}

const WORD = /\p{L}[\p{L}\p{M}\p{N}]*/gu;

export function tokenize(text: string): string[] {
  return (text.toLowerCase().match(WORD) ?? []) as string[];
}

/** Primary language subtag in lower case ('fr-CA' -> 'fr'); null when absent or malformed. */
export function normalizeLang(lang: string | null | undefined): string | null {
  const m = /^([a-zA-Z]{2,3})(?:[-_].*)?$/.exec((lang ?? '').trim());
  return m ? m[1]!.toLowerCase() : null;
}

/**
 * Guesses the language among the ones we have stopwords for. A stopword shared by several lists
 * counts for each of them in proportion, so distinctive words ('the', 'les', 'und') decide.
 */
export function detectLanguage(text: string): string | null {
  const tokens = tokenize(text.slice(0, 20_000));
  if (tokens.length < 3) return null;
  const owners = new Map<string, string[]>();
  for (const lang of KNOWN_LANGUAGES) for (const w of STOPWORDS[lang]!) owners.set(w, [...(owners.get(w) ?? []), lang]);
  const score: Record<string, number> = {};
  let hits = 0;
  for (const t of tokens) {
    const langs = owners.get(t);
    if (!langs) continue;
    hits++;
    for (const l of langs) score[l] = (score[l] ?? 0) + 1 / langs.length;
  }
  const ranked = Object.entries(score).sort((a, b) => b[1] - a[1]);
  const best = ranked[0];
  // Too few function words (a list of names, another script): do not guess.
  if (!best || hits < 2 || hits / tokens.length < 0.08) return null;
  return best[0];
}

/** Splits text into sentences: paragraphs first (readable text keeps them on lines), then ICU rules. */
export function splitSentences(text: string, lang: string | null): string[] {
  const segmenter = new Intl.Segmenter(lang ?? undefined, { granularity: 'sentence' });
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n|\r?\n/)) {
    const p = para.replace(/\s+/g, ' ').trim();
    if (!p) continue;
    let carry = '';
    for (const { segment } of segmenter.segment(p)) {
      const s = (carry + segment).trim();
      // ICU breaks after abbreviations ('M. Dupont', 'Dr. Smith'); glue such stubs onto the next piece.
      if (tokenize(s).length <= 2 && /^(?:\S+\s)?\S{1,4}\.$/.test(s)) {
        carry = s + ' ';
        continue;
      }
      out.push(s);
      carry = '';
    }
    if (carry.trim()) out.push(carry.trim());
  }
  return out;
}

interface Scored {
  index: number;
  text: string;
  score: number;
}

export function createExtractiveSummarizer(opts: ExtractiveOptions = {}): Summarizer {
  const nSummary = opts.summarySentences ?? 3;
  const nKeyPoints = opts.keyPoints ?? 5;
  const nTags = opts.tags ?? 6;
  const maxChars = opts.maxChars ?? 200_000;

  return {
    provider: 'extractive',
    async summarize(input: SummaryInput, signal?: AbortSignal): Promise<SummaryResult> {
      signal?.throwIfAborted();
      const text = input.text.slice(0, maxChars);
      const given = normalizeLang(input.lang);
      const lang = given ?? detectLanguage(text);
      const stop = (lang && STOPWORDS[lang]) || ANY_STOPWORD;
      const isContent = (w: string) => w.length > 2 && !stop.has(w) && !/^\d/.test(w);

      const sentences = splitSentences(text, lang).slice(0, 3000);
      const freq = new Map<string, number>();
      const sentTokens = sentences.map((s) => tokenize(s).filter(isContent));
      for (const toks of sentTokens) for (const t of new Set(toks)) freq.set(t, (freq.get(t) ?? 0) + 1);
      const titleTerms = new Set(tokenize(input.title ?? '').filter(isContent));
      const maxFreq = Math.max(1, ...freq.values());

      const scored: Scored[] = sentences.map((s, index) => {
        const toks = sentTokens[index]!;
        const words = tokenize(s).length;
        if (toks.length === 0 || words < 5 || words > 80) return { index, text: s, score: 0 };
        let sum = 0;
        for (const t of new Set(toks)) sum += (freq.get(t)! / maxFreq) * (titleTerms.has(t) ? 2 : 1);
        // Normalise by length so long sentences do not win by size, and favour the lede a little.
        const position = 1 + 0.5 / (1 + index / 3);
        return { index, text: s, score: (sum / Math.sqrt(toks.length)) * position };
      });

      const ranked = scored.filter((s) => s.score > 0).sort((a, b) => b.score - a.score || a.index - b.index);
      const pool = ranked.length > 0 ? ranked : scored.slice(0, nSummary);
      const chosen = pool.slice(0, nSummary).sort((a, b) => a.index - b.index);
      let points = pool.slice(nSummary, nSummary + nKeyPoints);
      if (points.length === 0) points = chosen;
      points = [...points].sort((a, b) => a.index - b.index);

      // Tags: the most frequent content words, title words first among equals.
      const tags = [...freq.entries()]
        .filter(([t, n]) => n > 1 || titleTerms.has(t))
        .sort(
          (a, b) =>
            b[1] + (titleTerms.has(b[0]) ? 0.5 : 0) - (a[1] + (titleTerms.has(a[0]) ? 0.5 : 0)) ||
            a[0].localeCompare(b[0]),
        )
        .slice(0, nTags)
        .map(([t]) => t);

      const summary = chosen.map((s) => s.text).join(' ') || text.trim().slice(0, 500);
      return {
        provider: 'extractive',
        model: null,
        summary,
        keyPoints: points.map((s) => s.text),
        tags,
        lang,
        inputTokens: null,
        outputTokens: null,
      };
    },
  };
}

// Pure helpers for long articles: a conservative token estimate and a splitter that cuts text into
// pieces under a token budget at paragraph, then sentence, then word boundaries (map-reduce input).

/**
 * Gemini's tokenizer gives about 4 characters of English per token and about one token per CJK
 * character; UTF-8 bytes / 3.5 over-estimates both slightly, which is the safe side for a budget.
 */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 3.5);
}

/** Splits `text` into chunks of at most `maxTokens` (estimated), keeping paragraphs together when they fit. */
export function splitIntoChunks(text: string, maxTokens: number): string[] {
  if (!(maxTokens > 0)) throw new RangeError('maxTokens must be positive');
  const pieces = text
    .split(/\n\s*\n|\r?\n/)
    .map((p) => p.trim())
    .filter(Boolean)
    .flatMap((p) => (estimateTokens(p) <= maxTokens ? [p] : splitParagraph(p, maxTokens)));

  const chunks: string[] = [];
  let current = '';
  for (const piece of pieces) {
    const candidate = current ? `${current}\n\n${piece}` : piece;
    if (estimateTokens(candidate) <= maxTokens) {
      current = candidate;
    } else {
      if (current) chunks.push(current);
      current = piece;
    }
  }
  if (current) chunks.push(current);
  return chunks;
}

function splitParagraph(p: string, maxTokens: number): string[] {
  const sentences = [...new Intl.Segmenter(undefined, { granularity: 'sentence' }).segment(p)]
    .map((s) => s.segment.trim())
    .filter(Boolean);
  const out: string[] = [];
  let current = '';
  for (const s of sentences.flatMap((s) => (estimateTokens(s) <= maxTokens ? [s] : hardSplit(s, maxTokens)))) {
    const candidate = current ? `${current} ${s}` : s;
    if (estimateTokens(candidate) <= maxTokens) current = candidate;
    else {
      if (current) out.push(current);
      current = s;
    }
  }
  if (current) out.push(current);
  return out;
}

/** A sentence longer than the budget (a table flattened to text, say): cut at spaces, or anywhere. */
function hardSplit(s: string, maxTokens: number): string[] {
  const out: string[] = [];
  let rest = s;
  while (estimateTokens(rest) > maxTokens) {
    // Find the longest prefix under budget by characters (bytes/3.5 bounds it), then back off to a space.
    let end = Math.max(1, Math.floor(maxTokens * 3.5) - 4);
    while (end > 1 && estimateTokens(rest.slice(0, end)) > maxTokens) end = Math.floor(end * 0.9);
    const space = rest.lastIndexOf(' ', end);
    if (space > end / 2) end = space;
    // Do not cut a surrogate pair in half.
    if (/[\uD800-\uDBFF]/.test(rest.charAt(end - 1))) end -= 1;
    out.push(rest.slice(0, end).trim());
    rest = rest.slice(end).trim();
  }
  if (rest) out.push(rest);
  return out.filter(Boolean);
}

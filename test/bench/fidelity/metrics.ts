// Pure metrics of the fidelity benchmark: pixel difference of two screenshots, visible-text similarity,
// and the order statistics the report uses. No browser, no I/O: unit-tested in test/unit/fidelity-metrics.test.ts.
import pixelmatch from 'pixelmatch';
import { PNG } from 'pngjs';

/** pixelmatch's own default: the OKLab distance under which two pixels count as equal (0..1). */
export const PIXEL_THRESHOLD = 0.1;

export interface RawImage {
  width: number;
  height: number;
  /** RGBA, row-major, width * height * 4 bytes. */
  data: Uint8Array;
}

export interface PixelDiff {
  /** Differing pixels / pixels of the union box (max width x max height); 0 for identical images. */
  fraction: number;
  /** Pixels pixelmatch found different inside the overlap. */
  mismatched: number;
  /** Pixels of the union box outside the overlap: counted as different (a size difference is a difference). */
  nonOverlap: number;
  /** Pixels of the union box. */
  total: number;
  a: { width: number; height: number };
  b: { width: number; height: number };
}

export function decodePng(png: Buffer): RawImage {
  const img = PNG.sync.read(png);
  return { width: img.width, height: img.height, data: img.data };
}

export function encodePng(img: RawImage): Buffer {
  const png = new PNG({ width: img.width, height: img.height });
  Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength).copy(png.data);
  return PNG.sync.write(png);
}

/** The top-left `width` x `height` part of `img` (clamped to its size). */
export function crop(img: RawImage, width: number, height: number): RawImage {
  const w = Math.min(width, img.width);
  const h = Math.min(height, img.height);
  if (w === img.width && h === img.height) return img;
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * img.width * 4, y * img.width * 4 + w * 4), y * w * 4);
  return { width: w, height: h, data: out };
}

/**
 * Fraction of differing pixels between two screenshots. Both are laid over the same top-left corner; the
 * overlap is compared by pixelmatch (anti-aliasing ignored, `threshold` as in pixelmatch) and every pixel
 * of the union box outside the overlap counts as different, so a page that grew or shrank scores worse.
 */
export function pixelDiff(a: RawImage, b: RawImage, opts: { threshold?: number; diffOut?: RawImage } = {}): PixelDiff {
  const w = Math.min(a.width, b.width);
  const h = Math.min(a.height, b.height);
  const W = Math.max(a.width, b.width);
  const H = Math.max(a.height, b.height);
  const total = W * H;
  const nonOverlap = total - w * h;
  let mismatched = 0;
  if (w > 0 && h > 0) {
    const ca = crop(a, w, h);
    const cb = crop(b, w, h);
    const out = opts.diffOut && opts.diffOut.width === w && opts.diffOut.height === h ? opts.diffOut.data : undefined;
    mismatched = pixelmatch(ca.data, cb.data, out, w, h, { threshold: opts.threshold ?? PIXEL_THRESHOLD });
  }
  return {
    fraction: total === 0 ? 0 : (mismatched + nonOverlap) / total,
    mismatched,
    nonOverlap,
    total,
    a: { width: a.width, height: a.height },
    b: { width: b.width, height: b.height },
  };
}

/** Word tokens (letters and digits of any script), case kept: the page's own text-transform applies to both sides. */
export function tokenize(text: string): string[] {
  return text.normalize('NFC').match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
}

/**
 * Token-level similarity of two visible texts, 0..1: the Dice coefficient of the two token multisets
 * (2 * shared tokens / all tokens). Order-insensitive on purpose: a sidebar laid out after the article in
 * one rendering and before it in the other is the same visible text. Two empty texts are identical (1).
 */
export function textSimilarity(a: string, b: string): number {
  const ta = tokenize(a);
  const tb = tokenize(b);
  if (ta.length === 0 && tb.length === 0) return 1;
  const counts = new Map<string, number>();
  for (const t of ta) counts.set(t, (counts.get(t) ?? 0) + 1);
  let shared = 0;
  for (const t of tb) {
    const n = counts.get(t);
    if (n) {
      shared++;
      counts.set(t, n - 1);
    }
  }
  return (2 * shared) / (ta.length + tb.length);
}

/** The q-quantile (0..1) by linear interpolation between closest ranks; NaN for no values. */
export function quantile(values: readonly number[], q: number): number {
  const xs = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (xs.length === 0) return Number.NaN;
  const pos = (xs.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo);
}

export const median = (values: readonly number[]): number => quantile(values, 0.5);

/** The definition: full-page difference at most 1% and no leaked request. */
export const GOOD_MAX_FULL_DIFF = 0.01;
export function isGood(m: { fullDiff: number; leaks: number }): boolean {
  return m.fullDiff <= GOOD_MAX_FULL_DIFF && m.leaks === 0;
}

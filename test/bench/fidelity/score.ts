// Scores one corpus page for the fidelity benchmark: renders the original twice (the second load is the noise
// floor) and each tool's archive, compares them pixel by pixel and by visible text, and saves the images.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserPool } from '../../../containers/browser/browser-pool.ts';
import type { Archive } from './capture.ts';
import type { BenchPage } from './corpus.ts';
import { crop, decodePng, encodePng, pixelDiff, textSimilarity, tokenize, type RawImage } from './metrics.ts';
import { render, type Rendering } from './render.ts';
import { failedTool, finishTool, type PageResult, type ToolResult } from './report.ts';

/** Report images are cut to this height: enough to see what differs, small enough to open. */
const REPORT_IMAGE_HEIGHT = 5_000;

/** Per tool (and `original`), the report-relative paths of the page's kept image and archive. */
export type PageImages = Record<string, { full?: string; archive?: string }>;

interface Scored {
  result: ToolResult;
  full: RawImage | null;
}

/** Scores one archive rendering against the original's first load. */
function score(
  archive: Archive,
  r: Rendering | null,
  orig: { viewport: RawImage; full: RawImage; text: string },
): Scored {
  if (!archive.ok || !archive.html)
    return { result: failedTool(archive.ms, archive.error ?? 'capture failed'), full: null };
  if (!r?.ok || !r.viewport || !r.full) {
    return {
      result: {
        ...failedTool(archive.ms, `archive did not render: ${r?.error ?? 'no rendering'}`),
        bytes: archive.html.length,
        leaks: r?.leaks ?? 0,
        leakedUrls: r?.leakedUrls ?? [],
      },
      full: null,
    };
  }
  const full = decodePng(r.full);
  return {
    result: finishTool({
      ok: true,
      captureMs: archive.ms,
      bytes: archive.html.length,
      viewportDiff: pixelDiff(orig.viewport, decodePng(r.viewport)).fraction,
      fullDiff: pixelDiff(orig.full, full).fraction,
      textSimilarity: textSimilarity(orig.text, r.text),
      leaks: r.leaks,
      leakedUrls: r.leakedUrls,
      pageHeight: r.pageHeight,
    }),
    full,
  };
}

/**
 * Renders page `p` (served at `url`) and every tool's archive of it, and scores them. Images go to `imgDir`,
 * named in the result relative to the report directory (`imgDirName/...`).
 */
export async function scorePage(
  renderPool: BrowserPool,
  p: BenchPage,
  url: string,
  a: Record<string, Archive>,
  tools: readonly string[],
  images: { imgDir: string; imgDirName: string },
): Promise<{ result: PageResult; imgs: PageImages; original: Rendering }> {
  const { imgDir, imgDirName } = images;
  const o1 = await render(renderPool, { url });
  const o2 = await render(renderPool, { url });
  const rendered: Record<string, Rendering | null> = {};
  for (const t of tools) rendered[t] = a[t].ok && a[t].html ? await render(renderPool, { html: a[t].html! }) : null;
  const result: PageResult = {
    id: p.id,
    subset: p.subset,
    url,
    original: { ok: o1.ok, error: o1.error, pageHeight: o1.pageHeight, textTokens: tokenize(o1.text).length },
    noise: null,
    tools: {},
  };
  const imgs: PageImages = {};
  const saveImage = (name: string, img: RawImage) => {
    const file = `${p.id}-${name}.png`;
    writeFileSync(join(imgDir, file), encodePng(crop(img, img.width, REPORT_IMAGE_HEIGHT)));
    imgs[name] = { full: `${imgDirName}/${file}` };
  };
  if (o1.ok && o1.viewport && o1.full) {
    const orig = { viewport: decodePng(o1.viewport), full: decodePng(o1.full), text: o1.text };
    // Self-check: the original against itself must score exactly 0 (and text 1), or the metric is broken.
    const self = pixelDiff(orig.full, orig.full);
    if (
      self.fraction !== 0 ||
      pixelDiff(orig.viewport, orig.viewport).fraction !== 0 ||
      textSimilarity(orig.text, orig.text) !== 1
    ) {
      throw new Error(`self-check failed on ${p.id}: original vs itself scored ${self.fraction}`);
    }
    if (o2.ok && o2.viewport && o2.full) {
      result.noise = {
        viewportDiff: pixelDiff(orig.viewport, decodePng(o2.viewport)).fraction,
        fullDiff: pixelDiff(orig.full, decodePng(o2.full)).fraction,
        textSimilarity: textSimilarity(orig.text, o2.text),
      };
    }
    saveImage('original', orig.full);
    for (const t of tools) {
      const s = score(a[t], rendered[t], orig);
      result.tools[t] = s.result;
      if (s.full) saveImage(t, s.full);
    }
  } else {
    for (const t of tools)
      result.tools[t] = {
        ...failedTool(a[t].ms, 'original did not render'),
        ok: a[t].ok,
        bytes: a[t].html?.length ?? 0,
      };
  }
  return { result, imgs, original: o1 };
}

// The colour of one pixel of a PNG or WebP that a capture made, decoded by Chromium itself (no image library).
import type { BrowserPool } from '../../containers/browser/browser-pool.ts';

/** The RGB of the image's pixel at (x, y), read through a canvas in a fresh page of `pool`. */
export async function pixelAt(
  pool: BrowserPool,
  image: Buffer,
  type: 'png' | 'webp',
  x: number,
  y: number,
): Promise<[number, number, number]> {
  return pool.withContext(async (context) => {
    const page = await context.newPage();
    return page.evaluate(
      async (src, px, py) => {
        const img = new Image();
        img.src = src;
        await img.decode();
        const canvas = new OffscreenCanvas(img.width, img.height);
        const g = canvas.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const d = g.getImageData(px, py, 1, 1).data;
        return [d[0]!, d[1]!, d[2]!] as [number, number, number];
      },
      `data:image/${type};base64,${image.toString('base64')}`,
      x,
      y,
    );
  });
}

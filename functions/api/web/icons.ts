// The app's icon, drawn once: an SVG for browsers that take one and PNGs (made here with node:zlib, no image
// library) for install prompts that insist on raster icons of a given size.
import { crc32, deflateSync } from 'node:zlib';

const BLUE = [11, 92, 173] as const;

export const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">
<rect width="64" height="64" rx="14" fill="rgb(${BLUE.join(',')})"/>
<rect x="14" y="16" width="36" height="9" rx="2" fill="#fff"/>
<rect x="17" y="27" width="30" height="22" rx="2" fill="#fff"/>
<rect x="26" y="32" width="12" height="4" rx="2" fill="rgb(${BLUE.join(',')})"/>
</svg>`;

/** Same drawing as ICON_SVG, on a 64-unit grid scaled to `size`; true where a pixel is white. */
function white(x: number, y: number): boolean {
  const inRect = (rx: number, ry: number, w: number, hh: number) => x >= rx && x < rx + w && y >= ry && y < ry + hh;
  if (inRect(26, 32, 12, 4)) return false;
  return inRect(14, 16, 36, 9) || inRect(17, 27, 30, 22);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}

/** An opaque RGB PNG of the icon (maskable: the motif sits well inside the safe zone). */
export function iconPng(size: number): Buffer {
  const rows: Buffer[] = [];
  for (let py = 0; py < size; py++) {
    const row = Buffer.alloc(1 + size * 3); // filter byte 0, then RGB
    for (let px = 0; px < size; px++) {
      const on = white(((px + 0.5) * 64) / size, ((py + 0.5) * 64) / size);
      row.set(on ? [255, 255, 255] : BLUE, 1 + px * 3);
    }
    rows.push(row);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit, truecolour, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

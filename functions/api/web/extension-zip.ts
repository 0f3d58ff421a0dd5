// GET /extension.zip: the browser extension (functions/api/web/extension/, Manifest V3 for Chrome and Firefox)
// zipped in memory once with yazl, so a person installs the copy that matches this server.
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import yazl from 'yazl';

const DIR = fileURLToPath(new URL('./extension/', import.meta.url));
// A fixed date: the same files give the same zip bytes (and ETag) on every server.
const MTIME = new Date('2026-01-01T00:00:00Z');

export async function buildExtensionZip(dir = DIR): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const name of (await readdir(dir)).sort())
    zip.addBuffer(await readFile(`${dir}${name}`), name, { mtime: MTIME });
  zip.end();
  const parts: Buffer[] = [];
  for await (const c of zip.outputStream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

/** On a router of its own, like the web app's assets: a download, not an API operation. */
export function extensionRoutes(app: Router): void {
  const router = express.Router();
  app.use(router);
  let zip: Promise<Buffer> | null = null;
  router.get('/extension.zip', (_req, res, next) => {
    (zip ??= buildExtensionZip())
      .then((body) => {
        res.setHeader('Content-Type', 'application/zip');
        res.setHeader('Content-Disposition', 'attachment; filename="htbase-extension.zip"');
        res.setHeader('Cache-Control', 'public, max-age=3600');
        res.end(body);
      })
      .catch((err) => {
        zip = null;
        next(err);
      });
  });
}

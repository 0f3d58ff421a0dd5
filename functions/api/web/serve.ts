// The web app's server side: mountWebApp() serves the shell at `/`, the client bundle (prebuilt beside a deployed
// function bundle, else built by esbuild in memory on first use, once per process), the manifest with its Web Share Target, the icons and the service
// worker, all under a strict CSP. It is mounted before the API's auth: the shell is public, the data is not.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import type { Request, Response } from 'express';
import type { Logger } from '../../../shared/core/logger.ts';
import { ICON_SVG, iconPng } from './icons.ts';

/**
 * The app's own policy. Archived pages are framed from the artifact route (`'self'`, itself served with
 * `Content-Security-Policy: sandbox`) or from blob: URLs when an API key is in use; both sit in sandbox="".
 */
export const APP_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "frame-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Firebase's public web settings for "Sign in with Google" (functions/api/config.ts firebaseWebSettings). */
export interface FirebaseWebSettings {
  apiKey: string;
  authDomain: string;
  projectId: string;
  /** A Firebase Auth emulator's origin (tests, local development): the SDK talks to it instead of Google. */
  emulatorUrl: string | null;
}

/**
 * APP_CSP plus only what Firebase Authentication needs: its two REST hosts (or the emulator), Google's gapi
 * loader the popup flow uses, and the project's auth domain, which hosts the popup's handler iframe.
 */
export function appCsp(firebase: FirebaseWebSettings | null | undefined): string {
  if (!firebase) return APP_CSP;
  const connect = firebase.emulatorUrl
    ? [firebase.emulatorUrl]
    : ['https://identitytoolkit.googleapis.com', 'https://securetoken.googleapis.com'];
  const extra: Record<string, string[]> = {
    'script-src': firebase.emulatorUrl ? [] : ['https://apis.google.com'],
    'frame-src': [firebase.emulatorUrl ?? `https://${firebase.authDomain}`],
    'connect-src': connect,
  };
  return APP_CSP.split('; ')
    .map((d) => {
      const name = d.slice(0, d.indexOf(' '));
      return extra[name]?.length ? `${d} ${extra[name].join(' ')}` : d;
    })
    .join('; ');
}

export interface WebAppOptions {
  logger: Logger;
  /** Where the client sources are; defaults to ./client next to this file. */
  clientDir?: string;
  /**
   * A prebuilt client (app.js, app.css, sw.js), used instead of building: defaults to ./web-client next to the
   * running module, where infra/build-functions.ts writes it beside the cloud function's bundled index.js.
   */
  prebuiltDir?: string;
  /** Google sign-in through Firebase; absent or null: the app offers the API key only. */
  firebase?: FirebaseWebSettings | null;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const asset = (body: Buffer | string, type: string): Asset => {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { body: buf, type, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"` };
};

const SHELL = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>HT Base</title>
<meta name="description" content="Your web archive: saved pages in every format, searchable.">
<meta name="theme-color" content="#0b5cad">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="/app/icon.svg" type="image/svg+xml">
<link rel="apple-touch-icon" href="/app/icon-192.png">
<link rel="stylesheet" href="/app/app.css">
<script type="module" src="/app/app.js"></script>
</head>
<body>
<div id="root"></div>
<noscript>HT Base's web app needs JavaScript; the JSON API is described at /openapi.json.</noscript>
</body>
</html>
`;

const MANIFEST = {
  name: 'HT Base',
  short_name: 'HT Base',
  description: 'Your web archive: saved pages in every format, searchable.',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  background_color: '#f4f4f1',
  theme_color: '#0b5cad',
  icons: [
    { src: '/app/icon.svg', sizes: 'any', type: 'image/svg+xml' },
    { src: '/app/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any maskable' },
    { src: '/app/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any maskable' },
  ],
  // Sharing a page from a phone opens /?share-url=… and the app archives it (client/main.ts sharedUrl).
  share_target: {
    action: '/',
    method: 'GET',
    params: { title: 'share-title', text: 'share-text', url: 'share-url' },
  },
};

const typeOf = (name: string) => (name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');

/** The prebuilt client's files, or null when there is none (the source tree: esbuild builds it). */
function prebuilt(dir: string): Record<string, Asset> | null {
  if (!existsSync(join(dir, 'app.js'))) return null;
  const files: Record<string, Asset> = {};
  for (const name of readdirSync(dir)) files[name] = asset(readFileSync(join(dir, name)), typeOf(name));
  return files;
}

/**
 * Bundles client/main.ts (+ its CSS) and client/sw.ts into memory; minified ESM, no files written. Code
 * splitting puts what main.ts imports dynamically (the Firebase SDK) in chunk files beside app.js, loaded only
 * when Google sign-in is used, so the first load stays small.
 */
async function bundle(clientDir: string): Promise<Record<string, Asset>> {
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: { app: `${clientDir}/main.ts`, sw: `${clientDir}/sw.ts` },
    outdir: '/bundle',
    write: false,
    bundle: true,
    minify: true,
    format: 'esm',
    splitting: true,
    chunkNames: 'chunk-[hash]',
    target: 'es2020',
    legalComments: 'none',
    logLevel: 'silent',
  });
  const files: Record<string, Asset> = {};
  for (const f of out.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    files[name] = asset(Buffer.from(f.contents), typeOf(name));
  }
  return files;
}

/** Mounts the web app as a router of its own: pages and assets, not operations of the JSON API's document. */
export function mountWebApp(parent: express.Express, opts: WebAppOptions): void {
  const app = express.Router();
  parent.use(app);
  const log = opts.logger.child({ component: 'web' });
  const clientDir = opts.clientDir ?? fileURLToPath(new URL('./client', import.meta.url));
  const ready = prebuilt(opts.prebuiltDir ?? fileURLToPath(new URL('./web-client', import.meta.url)));
  let built: Promise<Record<string, Asset>> | null = ready ? Promise.resolve(ready) : null;
  // Built on the first request, not at import, so tests and CLIs that never open the app pay nothing.
  const files = () => {
    built ??= bundle(clientDir).catch((err: unknown) => {
      log.error({ err }, 'web app bundle failed');
      built = null; // a later request tries again
      throw err;
    });
    return built;
  };
  const fixed: Record<string, Asset> = {
    '/manifest.webmanifest': asset(JSON.stringify(MANIFEST), 'application/manifest+json'),
    '/app/icon.svg': asset(ICON_SVG, 'image/svg+xml'),
    '/app/icon-192.png': asset(iconPng(192), 'image/png'),
    '/app/icon-512.png': asset(iconPng(512), 'image/png'),
  };
  const shell = asset(SHELL, 'text/html; charset=utf-8');
  const csp = appCsp(opts.firebase);
  // What the client needs to offer Google sign-in; `firebase: null` hides the button.
  fixed['/app/config.json'] = asset(JSON.stringify({ firebase: opts.firebase ?? null }), 'application/json');

  function send(req: Request, res: Response, a: Asset, cache = 'no-cache'): void {
    res.setHeader('Content-Type', a.type);
    res.setHeader('Cache-Control', cache);
    res.setHeader('ETag', a.etag);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.headers['if-none-match'] === a.etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Length', String(a.body.length));
    res.end(req.method === 'HEAD' ? undefined : a.body);
  }

  app.get(['/', '/index.html'], (req, res) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    send(req, res, shell);
  });
  for (const [path, a] of Object.entries(fixed))
    app.get(path, (req, res) => send(req, res, a, path.endsWith('.json') ? 'no-cache' : 'public, max-age=86400'));
  // The split chunks: content-hashed names, so they may be cached for good.
  app.get(/^\/app\/(chunk-[A-Za-z0-9_-]+\.js)$/, (req, res, next) => {
    const name = req.path.slice('/app/'.length);
    files().then((f) => {
      const a = f[name];
      if (!a) return next();
      send(req, res, a, 'public, max-age=31536000, immutable');
    }, next);
  });
  const bundled: Record<string, string> = { '/app/app.js': 'app.js', '/app/app.css': 'app.css', '/sw.js': 'sw.js' };
  for (const [path, name] of Object.entries(bundled))
    app.get(path, (req, res, next) => {
      files().then((f) => {
        const a = f[name];
        if (!a) return next();
        send(req, res, a);
      }, next);
    });
}

// The service worker: caches the app shell so the app opens offline and installs as a PWA. Network first
// (a new deploy shows at once), the cache only when offline; the JSON API and archived files are never cached.
// tsc checks this file with the DOM lib (one tsconfig), which lacks the worker types: the few used are declared here.
interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(r: Promise<Response>): void;
}
interface WorkerScope {
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: 'install' | 'activate', fn: (e: ExtendableEvent) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEvent) => void): void;
}
const sw = self as unknown as WorkerScope;
const CACHE = 'htbase-shell-v1';
const SHELL = ['/', '/app/app.js', '/app/app.css', '/app/icon.svg', '/app/icon-192.png', '/manifest.webmanifest'];

sw.addEventListener('install', (e) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== location.origin) return;
  // Split chunks (the Firebase SDK, shared helpers) have content-hashed names the shell list cannot know: each is
  // cached the first time it loads, and a cached one never changes.
  if (/^\/app\/chunk-[\w-]+\.js$/.test(url.pathname)) {
    e.respondWith(
      caches.match(e.request).then(
        (hit) =>
          hit ??
          fetch(e.request).then((res) => {
            const copy = res.clone();
            if (res.ok) void caches.open(CACHE).then((c) => c.put(e.request, copy));
            return res;
          }),
      ),
    );
    return;
  }
  const shell = e.request.mode === 'navigate' ? '/' : SHELL.includes(url.pathname) ? url.pathname : null;
  if (!shell) return;
  e.respondWith(fetch(e.request).catch(async () => (await caches.match(shell)) ?? Response.error()));
});

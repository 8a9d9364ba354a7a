// Report it's service worker: keeps the app's pages and assets for use without a connection.
// Only Report it's own paths are handled; every other request goes to the network untouched.
const CACHE = 'kiln-report-it-v1';
const SHELL = [
  '/report/app',
  '/report/mine',
  '/report-assets/app.js',
  '/report-assets/offline.js',
  '/report-assets/outbox.js',
];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith('kiln-report-it') && k !== CACHE).map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

const ours = (url) =>
  url.origin === self.location.origin &&
  (/^\/report(s)?(\/|$)/.test(url.pathname) ||
    url.pathname.startsWith('/report-assets/') ||
    url.pathname.startsWith('/assets/'));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (!ours(url)) return;
  // Assets: the cached copy first. Pages: the network first, the last copy seen when offline.
  if (url.pathname.startsWith('/assets/') || url.pathname.startsWith('/report-assets/')) {
    event.respondWith(
      caches.match(request).then(
        (hit) =>
          hit ||
          fetch(request).then((response) => {
            if (response.ok) caches.open(CACHE).then((cache) => cache.put(request, response.clone()));
            return response;
          }),
      ),
    );
    return;
  }
  if (
    request.mode === 'navigate' &&
    (url.pathname === '/report/app' ||
      url.pathname === '/report/mine' ||
      url.pathname.startsWith('/reports/'))
  ) {
    event.respondWith(
      fetch(request)
        .then((response) => {
          if (response.ok) caches.open(CACHE).then((cache) => cache.put(request, response.clone()));
          return response;
        })
        .catch(() => caches.match(request).then((hit) => hit || caches.match('/report/app'))),
    );
  }
});

// The app shell's service worker: the build's files are cached at install and served from the
// cache, so the app opens with no network. Records never pass through here: /api/* is not
// handled (the app keeps its data in IndexedDB and syncs when the server answers).
const BUILD = '__BUILD__';
const CACHE = 'baoxue-' + BUILD;
const SHELL = __SHELL__;

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('baoxue-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  const scope = new URL(self.registration.scope);
  if (event.request.method !== 'GET' || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) {
    return;
  }
  if (event.request.mode === 'navigate') {
    // The page itself: the cached shell at once (a new version arrives with a new worker).
    event.respondWith(caches.match(scope.pathname, { cacheName: CACHE }).then((r) => r || fetch(event.request)));
    return;
  }
  event.respondWith(caches.match(event.request, { cacheName: CACHE }).then((r) => r || fetch(event.request)));
});

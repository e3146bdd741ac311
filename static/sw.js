// Koto Portal service worker: shows push notifications and opens the page
// they are about when tapped. Payloads carry only a short localized text and
// the address of the page; details load when the page opens.
'use strict';

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

self.addEventListener('push', function (event) {
  var msg = {};
  try { msg = event.data ? event.data.json() : {}; } catch (e) { msg = { body: event.data ? event.data.text() : '' }; }
  var title = msg.title || 'Koto';
  var options = {
    body: msg.body || '',
    lang: msg.lang || '',
    dir: msg.dir || 'auto',
    tag: msg.tag || undefined,
    renotify: !!msg.tag,
    requireInteraction: !!msg.urgent,
    vibrate: msg.urgent ? [300, 100, 300, 100, 300] : undefined,
    icon: '/icon.svg',
    data: { url: msg.url || '/' }
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var url = (event.notification.data && event.notification.data.url) || '/';
  event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
    for (var i = 0; i < list.length; i++) {
      if (new URL(list[i].url).pathname === new URL(url, self.location.origin).pathname && 'focus' in list[i]) {
        return list[i].focus();
      }
    }
    return self.clients.openWindow(url);
  }));
});

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
    data: { url: msg.url || '', ticket: msg.ticket || 0, client: !!msg.client, delivery: msg.delivery || 0 }
  };
  event.waitUntil(self.registration.showNotification(title, options).then(function () {
    return report(options.data, 'delivered');
  }));
});

// A client's reminder tells the portal it was shown, and later tapped, so
// the expert knows it reached the phone. Best effort: a receipt that does
// not get through leaves the reminder as sent.
function report(data, what) {
  if (!data.client || !data.delivery) { return Promise.resolve(); }
  return caches.open(FOLLOW_CACHE).then(function (c) { return c.match('/__client'); })
    .then(function (r) { return r ? r.text() : ''; })
    .then(function (url) {
      if (url.indexOf('/c/') !== 0) { return; }
      var path = new URL(url, self.location.origin).pathname.replace(/\/+$/, '');
      return fetch(path + '/receipts', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ delivery: data.delivery, event: what })
      });
    }).catch(function () {});
}

// The follow page tells us its own address (it holds the ticket's secret
// link, which never travels in a push message); kept in this phone's cache.
var FOLLOW_CACHE = 'koto-follow';
self.addEventListener('message', function (event) {
  var m = event.data || {};
  if (m.type === 'client' && typeof m.url === 'string' && m.url.indexOf('/c/') === 0) {
    // The client's page: its address holds the phone's credential, which
    // never travels in a push message.
    event.waitUntil(caches.open(FOLLOW_CACHE).then(function (c) { return c.put('/__client', new Response(m.url)); }));
    return;
  }
  if (m.type !== 'follow' || !m.ticket || typeof m.url !== 'string' || m.url.indexOf('/t/') !== 0) { return; }
  event.waitUntil(caches.open(FOLLOW_CACHE).then(function (c) {
    return c.put('/__follow/' + m.ticket, new Response(m.url));
  }));
});

function followURL(data) {
  if (data.url) { return Promise.resolve(data.url); }
  if (data.client) {
    return caches.open(FOLLOW_CACHE).then(function (c) { return c.match('/__client'); })
      .then(function (r) { return r ? r.text() : '/'; });
  }
  if (!data.ticket) { return Promise.resolve('/'); }
  return caches.open(FOLLOW_CACHE).then(function (c) { return c.match('/__follow/' + data.ticket); })
    .then(function (r) { return r ? r.text() : '/'; });
}

self.addEventListener('notificationclick', function (event) {
  event.notification.close();
  var data = event.notification.data || {};
  event.waitUntil(report(data, 'opened').then(function () { return followURL(data); }).then(function (url) {
    return self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then(function (list) {
      var path = new URL(url, self.location.origin).pathname;
      for (var i = 0; i < list.length; i++) {
        if (new URL(list[i].url).pathname === path && 'focus' in list[i]) { return list[i].focus(); }
      }
      return self.clients.openWindow(url);
    });
  }));
});

// The client's own page: the service worker that makes it an installable
// app and shows reminders, Web Push asked for only after a tap and renewed
// on every visit, and on an iPhone the step that must come first.
(function () {
  'use strict';
  var root = document.getElementById('client');
  if (!root || !('serviceWorker' in navigator)) { return; }
  var cred = root.getAttribute('data-cred');
  var key = root.getAttribute('data-push-key');
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var btn = document.getElementById('push');
  var done = document.getElementById('push-done');
  var ios = /iPhone|iPad|iPod/.test(navigator.userAgent) && !navigator.standalone;

  var ready = navigator.serviceWorker.register('/sw.js', { scope: '/' }).then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (reg) {
    // A tapped reminder opens this page: the worker keeps its address.
    if (reg.active) { reg.active.postMessage({ type: 'client', url: window.location.pathname }); }
    return reg;
  });

  function b64(s) {
    var pad = '='.repeat((4 - s.length % 4) % 4), raw = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  function save(sub) {
    return fetch('/c/' + encodeURIComponent(cred) + '/push', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(sub)
    }).then(function (r) { if (!r.ok) { throw new Error('save ' + r.status); } });
  }
  if (!btn || !key) { return; }
  if (!('PushManager' in window)) {
    // Safari on an iPhone offers Web Push only to a page added to the home screen.
    btn.hidden = true;
    if (ios) { document.getElementById('ios-hint').hidden = false; }
    return;
  }
  // A subscription the browser renewed since the last visit is stored again.
  if (window.Notification && Notification.permission === 'granted') {
    ready.then(function (reg) { return reg.pushManager.getSubscription(); })
      .then(function (sub) { if (sub) { return save(sub); } }).catch(function () {});
  }
  btn.addEventListener('click', function () {
    btn.disabled = true;
    Notification.requestPermission().then(function (perm) {
      if (perm !== 'granted') { throw new Error('permission ' + perm); }
      return ready;
    }).then(function (reg) {
      return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(key) });
    }).then(save).then(function () {
      btn.hidden = true; done.hidden = false;
    }).catch(function () { btn.disabled = false; });
  });
})();

// The visitor's phone: live ticket status, a vibration and a sound when
// called, and Web Push for when the page is closed (asked only after a tap).
(function () {
  'use strict';
  var root = document.getElementById('follow');
  if (!root || !window.KotoLive) { return; }
  var token = root.getAttribute('data-token');
  var region = document.getElementById('live');
  var status = document.getElementById('live-status');
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  function alertCalled() {
    if (navigator.vibrate) { navigator.vibrate([400, 150, 400, 150, 400]); }
    try {
      var a = new (window.AudioContext || window.webkitAudioContext)();
      var o = a.createOscillator(), g = a.createGain();
      o.frequency.value = 880; o.connect(g); g.connect(a.destination);
      g.gain.setValueAtTime(0.3, a.currentTime); o.start(); o.stop(a.currentTime + 0.5);
    } catch (e) { /* sound is a bonus; the screen and vibration carry the news */ }
  }
  var lastState = (region.querySelector('[data-state]') || {}).getAttribute ? region.querySelector('[data-state]').getAttribute('data-state') : '';
  function snapshot() {
    return fetch(window.KotoLive.redrawURL(), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) { throw new Error('snapshot ' + r.status); }
        var seqs = JSON.parse(r.headers.get('X-Live-Seqs') || '{}');
        return r.text().then(function (html) {
          region.innerHTML = html;
          var st = region.querySelector('[data-state]').getAttribute('data-state');
          if (st === 'called' && lastState !== 'called') { alertCalled(); }
          // Only a waiting visitor can give up the place (the server agrees):
          // once called, the offer goes, as it would on a fresh load.
          var giveUp = document.querySelector('.give-up');
          if (giveUp) { giveUp.hidden = st !== 'waiting'; }
          if (st !== lastState && (st === 'done' || st === 'cancelled' || st === 'not_served' || st === 'no_show')) {
            var actions = document.querySelector('.follow-actions');
            if (actions) { actions.hidden = true; }
          }
          lastState = st;
          return { seqs: seqs };
        });
      });
  }
  var pending = null;
  function redraw() {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; snapshot().catch(function () {}); }, 150);
  }
  window.KotoLive.connect({
    url: '/ws?ticket=' + encodeURIComponent(token),
    snapshot: snapshot,
    onEvent: function () { redraw(); },
    onStatus: function (s) { status.textContent = s === 'live' ? '' : status.getAttribute('data-' + s) || ''; }
  });

  // Web Push: permission is asked only when the visitor taps the button.
  var btn = document.getElementById('push');
  var key = root.getAttribute('data-push-key');
  if (!btn) { return; }
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !key) { btn.hidden = true; return; }
  function b64(s) {
    var pad = '='.repeat((4 - s.length % 4) % 4), raw = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  btn.addEventListener('click', function () {
    btn.disabled = true;
    Notification.requestPermission().then(function (perm) {
      if (perm !== 'granted') { throw new Error('permission ' + perm); }
      return navigator.serviceWorker.register('/sw.js', { scope: '/' });
    }).then(function () { return navigator.serviceWorker.ready; })
      .then(function (reg) {
        // The worker opens this page when the notification is tapped.
        if (reg.active) { reg.active.postMessage({ type: 'follow', ticket: Number(root.getAttribute('data-ticket')), url: window.location.pathname }); }
        return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(key) });
      })
      .then(function (sub) {
        return fetch('/t/' + encodeURIComponent(token) + '/push', {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
          body: JSON.stringify(sub)
        });
      }).then(function (r) {
        if (!r.ok) { throw new Error('save ' + r.status); }
        btn.hidden = true; document.getElementById('push-done').hidden = false;
      }).catch(function () {
        btn.disabled = false; document.getElementById('push-error').hidden = false;
      });
  });
})();

// The staff settings page: turn on notifications of my tasks in this
// browser (permission is asked only after the tap).
(function () {
  'use strict';
  var root = document.getElementById('staff-push');
  if (!root) { return; }
  var btn = document.getElementById('push-enable');
  var status = document.getElementById('push-status');
  var key = root.getAttribute('data-key');
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  if (!('serviceWorker' in navigator) || !('PushManager' in window) || !key) {
    btn.hidden = true;
    status.textContent = root.getAttribute('data-unsupported');
    return;
  }
  function b64(s) {
    var pad = '='.repeat((4 - s.length % 4) % 4), raw = atob((s + pad).replace(/-/g, '+').replace(/_/g, '/'));
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  btn.addEventListener('click', function () {
    btn.disabled = true;
    Notification.requestPermission().then(function (perm) {
      if (perm !== 'granted') { status.textContent = root.getAttribute('data-denied'); throw null; }
      return navigator.serviceWorker.register('/sw.js', { scope: '/' });
    }).then(function () { return navigator.serviceWorker.ready; })
      .then(function (reg) { return reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: b64(key) }); })
      .then(function (sub) {
        return fetch('/staff/settings/push', {
          method: 'POST', credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
          body: JSON.stringify(sub)
        });
      }).then(function (r) {
        if (!r.ok) { throw new Error('save ' + r.status); }
        status.textContent = root.getAttribute('data-on');
        window.location.reload();
      }).catch(function (e) {
        btn.disabled = false;
        if (e) { status.textContent = root.getAttribute('data-failed'); }
      });
  });
})();

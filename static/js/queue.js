// The expert's queue screen: redraws from the server on each queue event
// (every text stays localized on the server) and ticks the waiting times.
(function () {
  'use strict';
  var root = document.getElementById('queue');
  if (!root || !window.KotoLive) { return; }
  var region = document.getElementById('live');
  var status = document.getElementById('live-status');
  var minutes = root.getAttribute('data-minutes') || '{n} min';
  var query = root.getAttribute('data-query');

  function tick() {
    var now = Date.now();
    var cells = region.querySelectorAll('.waited[data-since]');
    for (var i = 0; i < cells.length; i++) {
      var m = Math.max(0, Math.floor((now - Date.parse(cells[i].getAttribute('data-since'))) / 60000));
      cells[i].textContent = minutes.replace('{n}', String(m));
    }
  }
  // The markup the region was last drawn from, as the browser serialises
  // it: a redraw that would change nothing is skipped, so a click landing
  // just as the socket (re)connects is not lost on a replaced button.
  var drawn = region.innerHTML;
  function serialised(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    return t.innerHTML;
  }
  function snapshot() {
    return fetch(window.KotoLive.redrawURL(query), { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (r.redirected || !r.ok) { throw new Error('snapshot ' + r.status); }
      var seq = Number(r.headers.get('X-Live-Seq'));
      return r.text().then(function (html) {
        html = serialised(html);
        if (html === drawn) { return seq; }
        drawn = html;
        // Keep focus where the expert was, if that control still exists.
        var active = document.activeElement && document.activeElement.closest('form');
        var action = active ? active.getAttribute('action') : null;
        region.innerHTML = html;
        tick();
        if (action) {
          var again = region.querySelector('form[action="' + action + '"] button');
          if (again) { again.focus(); }
        }
        return seq;
      });
    });
  }
  var pending = null;
  function redraw() {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; snapshot().catch(function () {}); }, 120);
  }
  tick();
  setInterval(tick, 15000);
  window.KotoLive.connect({
    url: '/ws?queue=' + encodeURIComponent(root.getAttribute('data-sp')),
    snapshot: snapshot,
    onEvent: function () { redraw(); },
    onStatus: function (s) {
      status.textContent = s === 'live' ? '' : status.getAttribute('data-' + s) || '';
      // "live" once the screen is drawn from its first snapshot: what is
      // on it now is what the server holds.
      root.setAttribute('data-live', s);
    }
  });
})();

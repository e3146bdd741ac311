// Every staff page: the navigation's count of my unfinished tasks, kept
// live over one websocket, and a short notice a screen reader announces
// when a task arrives. A task screen (an element #task-live) is redrawn
// from the server, in the page's own language, on each change it shows.
(function () {
  'use strict';
  var count = document.getElementById('task-count');
  var label = document.getElementById('task-count-label');
  var notice = document.getElementById('task-notice');
  if (!count || !notice || !window.KotoLive) { return; }
  var me = Number(notice.getAttribute('data-me'));
  var region = document.getElementById('task-live');
  var point = region ? region.getAttribute('data-point') || '' : '';
  var onlyTask = region ? Number(region.getAttribute('data-task') || 0) : 0;
  var lang = document.documentElement.lang;
  var ready = false;

  function badgeURL() {
    return '/staff/tasks/count?lang=' + encodeURIComponent(lang) + (point ? '&point=' + encodeURIComponent(point) : '');
  }
  function getJSON(url) {
    return fetch(url, { credentials: 'same-origin', cache: 'no-store' }).then(function (r) {
      if (r.redirected || !r.ok) { throw new Error(url + ' ' + r.status); }
      return r.json();
    });
  }
  function showCount(b) {
    count.textContent = String(b.count);
    count.classList.toggle('zero', b.count === 0);
    if (label) { label.textContent = b.label; }
  }
  // The markup last drawn: a redraw that would change nothing is skipped,
  // so focus and a half-typed filter stay where they are.
  var drawn = region ? region.innerHTML : '';
  function redraw() {
    if (!region) { return Promise.resolve(); }
    return fetch(window.KotoLive.redrawURL(region.getAttribute('data-query') || ''), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (r.redirected || !r.ok) { throw new Error('redraw ' + r.status); }
        return r.text();
      }).then(function (html) {
        var t = document.createElement('template');
        t.innerHTML = html;
        if (t.innerHTML === drawn) { return; }
        var active = document.activeElement && region.contains(document.activeElement) ? document.activeElement : null;
        var action = active && active.closest('form') ? active.closest('form').getAttribute('action') : null;
        drawn = t.innerHTML;
        region.innerHTML = html;
        if (action) {
          var again = region.querySelector('form[action="' + action + '"] button');
          if (again) { again.focus(); }
        }
      });
  }
  function snapshot() {
    return getJSON(badgeURL()).then(function (b) {
      showCount(b);
      return redraw().then(function () { ready = true; return { seqs: b.seqs }; });
    });
  }
  var timer = null;
  function refresh() {
    if (timer) { return; }
    timer = setTimeout(function () {
      timer = null;
      getJSON(badgeURL()).then(showCount).catch(function () {});
      redraw().catch(function () {});
    }, 100);
  }
  var clearNotice = null;
  function announce(text) {
    if (!text) { return; }
    notice.textContent = text;
    clearTimeout(clearNotice);
    clearNotice = setTimeout(function () { notice.textContent = ''; }, 15000);
  }
  function onEvent(ev) {
    var d = ev.data || {};
    if (ready && ev.type === 'task.created') {
      if (d.assignee_id === me) {
        announce(notice.getAttribute('data-mine'));
      } else if (!d.assignee_id && point && !onlyTask) {
        announce(notice.getAttribute('data-pool'));
      }
    } else if (ready && onlyTask && d.id === onlyTask) {
      announce(notice.getAttribute('data-changed'));
    }
    if (onlyTask && d.id !== onlyTask && ev.channel.indexOf('tasks:staff:') !== 0) {
      // Another task of the service point: only the count may change.
      getJSON(badgeURL()).then(showCount).catch(function () {});
      return;
    }
    refresh();
  }
  window.KotoLive.connect({
    url: '/ws?tasks=mine' + (point ? '&point=' + encodeURIComponent(point) : ''),
    snapshot: snapshot,
    onEvent: onEvent
  });
})();

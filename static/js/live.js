/*
 * Koto live updates: keeps a page's state in step with the server over one
 * websocket. The page supplies snapshot(), its own fetch of the current
 * state, and onEvent(ev) for each change after it; this file decides when a
 * snapshot is needed (on connecting, on a gap in the numbering, on the
 * server's word) and reconnects for ever with backoff.
 *
 *   const live = KotoLive.connect({
 *     url: '/ws?channels=…',
 *     snapshot: () => fetch(…).then(r => r.json()).then(s => { render(s); return {seq: s.seq}; }),
 *     onEvent: ev => apply(ev),               // {channel, seq, type, data}
 *     onStatus: s => show(s),                 // 'connecting' | 'live' | 'offline'
 *   });
 *
 * snapshot() resolves to {seq: n} (or n) for a page on one channel, or to
 * {seqs: {channel: n, …}} naming every channel the page follows.
 *
 * Plain ES2017, no build step, nothing inline: fits a strict CSP.
 */
(function () {
  'use strict';

  // A waiting room cannot wait: once the instance is back, every screen
  // must be true again within seconds, so the backoff stops doubling at
  // 2 s (each try waits between half and all of it, so that a hundred
  // screens do not knock at the same instant).
  var MIN_BACKOFF = 500; // ms
  var MAX_BACKOFF = 2000;
  // Browsers cannot see websocket pings, so the page pings in a message of
  // its own and gives up on a socket that has said nothing for too long.
  var PING_EVERY = 25000;
  var SILENCE_LIMIT = 60000;

  function noop() {}

  function socketURL(url) {
    if (/^wss?:\/\//.test(url)) {
      return url;
    }
    var scheme = window.location.protocol === 'https:' ? 'wss://' : 'ws://';
    return scheme + window.location.host + (url.charAt(0) === '/' ? '' : '/') + url;
  }

  function connect(opts) {
    if (!opts || !opts.url || typeof opts.snapshot !== 'function') {
      throw new Error('KotoLive.connect needs url and snapshot()');
    }
    var onEvent = opts.onEvent || noop;
    var onStatus = opts.onStatus || noop;

    var ws = null;
    var gen = 0; // which socket a snapshot belongs to, so a stale one is ignored
    var status = '';
    var attempt = 0;
    var retryTimer = null;
    var pingTimer = null;
    var lastHeard = 0;
    var stopped = false;

    var last = new Map(); // channel → last seq applied
    var single = null; // a one-seq snapshot's seq, for channels it did not name
    var synced = false; // this socket has had its first snapshot
    var syncing = false;
    var syncAgain = false;
    var pending = []; // events held until a snapshot is in

    function setStatus(s) {
      if (s === status) {
        return;
      }
      status = s;
      try {
        onStatus(s);
      } catch (e) {
        console.error('KotoLive onStatus:', e);
      }
    }

    function lastSeq(channel) {
      return last.has(channel) ? last.get(channel) : single;
    }

    function record(res) {
      last = new Map();
      single = null;
      if (typeof res === 'number') {
        single = res;
      } else if (res && typeof res.seq === 'number') {
        single = res.seq;
      } else if (res && res.seqs && typeof res.seqs === 'object') {
        Object.keys(res.seqs).forEach(function (ch) {
          last.set(ch, Number(res.seqs[ch]));
        });
      } else {
        console.warn('KotoLive: snapshot() should resolve to {seq} or {seqs: {channel: seq}}; gaps cannot be seen');
      }
    }

    function resync() {
      syncAgain = true;
      if (syncing || !ws) {
        return;
      }
      syncing = true;
      runSnapshot();
    }

    function runSnapshot() {
      var mine = gen;
      syncAgain = false;
      var p;
      try {
        p = Promise.resolve(opts.snapshot());
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then(function (res) {
        if (mine !== gen) {
          return;
        }
        record(res);
        if (syncAgain) {
          runSnapshot();
          return;
        }
        syncing = false;
        synced = true;
        var held = pending;
        pending = [];
        held.forEach(handle);
        if (!syncing) {
          attempt = 0;
          setStatus('live');
        }
      }, function (err) {
        if (mine !== gen) {
          return;
        }
        console.warn('KotoLive: snapshot failed; reconnecting', err);
        dropSocket();
      });
    }

    function handle(ev) {
      if (syncing || !synced) {
        pending.push(ev);
        return;
      }
      var prev = lastSeq(ev.channel);
      if (prev === null || prev === undefined) {
        prev = ev.seq - 1; // no baseline for this channel: take it as it comes
      }
      if (ev.seq <= prev) {
        return; // the snapshot already has it
      }
      if (ev.seq > prev + 1 || ev.truncated) {
        // Missed something, or the data did not fit: the snapshot decides,
        // and this event is looked at again against it.
        pending.push(ev);
        resync();
        return;
      }
      last.set(ev.channel, ev.seq);
      try {
        onEvent(ev);
      } catch (e) {
        console.error('KotoLive onEvent:', e);
      }
    }

    function onMessage(msg) {
      lastHeard = Date.now();
      var ev;
      try {
        ev = JSON.parse(msg.data);
      } catch (e) {
        return;
      }
      if (!ev || typeof ev !== 'object') {
        return;
      }
      if (ev.type === 'resync') {
        // Also the server's first message: sent once this socket is
        // subscribed, so the snapshot cannot miss an event.
        resync();
      } else if (typeof ev.channel === 'string' && typeof ev.seq === 'number') {
        handle(ev);
      }
    }

    function open() {
      retryTimer = null;
      if (stopped) {
        return;
      }
      gen++;
      synced = false;
      syncing = false;
      syncAgain = false;
      pending = [];
      setStatus('connecting');
      var sock;
      try {
        sock = new WebSocket(socketURL(opts.url));
      } catch (e) {
        console.error('KotoLive:', e);
        scheduleRetry();
        return;
      }
      ws = sock;
      lastHeard = Date.now();
      sock.addEventListener('message', onMessage);
      sock.addEventListener('close', function () {
        if (sock === ws) {
          dropSocket();
        }
      });
      pingTimer = setInterval(function () {
        if (Date.now() - lastHeard > SILENCE_LIMIT) {
          dropSocket(); // a dead link can take minutes to report itself
        } else if (sock.readyState === WebSocket.OPEN) {
          sock.send('{"type":"ping"}');
        }
      }, PING_EVERY);
    }

    // dropSocket forgets the current socket at once (a closing handshake
    // over a dead link is not waited for) and plans the next attempt.
    function dropSocket() {
      var sock = ws;
      ws = null;
      gen++;
      clearInterval(pingTimer);
      pingTimer = null;
      if (sock) {
        try {
          sock.close();
        } catch (e) {
          // already closed
        }
      }
      if (!stopped) {
        setStatus('offline');
        scheduleRetry();
      }
    }

    function scheduleRetry() {
      if (retryTimer || stopped) {
        return;
      }
      var base = Math.min(MAX_BACKOFF, MIN_BACKOFF * Math.pow(2, attempt));
      attempt++;
      retryTimer = setTimeout(open, base / 2 + Math.random() * base / 2);
    }

    // A phone waking up or a network coming back need not wait out the backoff.
    function retryNow() {
      if (!stopped && !ws && retryTimer) {
        clearTimeout(retryTimer);
        open();
      }
    }
    function onVisible() {
      if (document.visibilityState === 'visible') {
        retryNow();
      }
    }
    window.addEventListener('online', retryNow);
    document.addEventListener('visibilitychange', onVisible);

    open();

    return {
      status: function () {
        return status;
      },
      resync: resync,
      close: function () {
        stopped = true;
        clearTimeout(retryTimer);
        retryTimer = null;
        window.removeEventListener('online', retryNow);
        document.removeEventListener('visibilitychange', onVisible);
        dropSocket();
        setStatus('offline');
      },
    };
  }

  // redrawURL is where a live page fetches its changing part: in the
  // language the page itself is in (the server would otherwise pick the
  // account's or the ticket's), plus the page's own query (extra).
  function redrawURL(extra) {
    var url = window.location.pathname + '?fragment=1&lang=' + encodeURIComponent(document.documentElement.lang);
    return url + (extra ? '&' + extra : '');
  }

  window.KotoLive = { connect: connect, redrawURL: redrawURL };
})();

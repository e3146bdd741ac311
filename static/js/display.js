// Waiting-room display: redraws from the server on every queue event,
// chimes and speaks each call (in Finnish and in the visitor's language
// where the browser has a voice), and reconnects by itself.
(function () {
  'use strict';
  var root = document.getElementById('display');
  if (!root || !window.KotoLive) { return; }
  var region = document.getElementById('live');
  var status = document.getElementById('live-status');
  var phrases = JSON.parse(root.getAttribute('data-phrases') || '{}');
  var soundOn = false, audio = null;

  document.getElementById('sound').addEventListener('click', function (e) {
    // Browsers allow sound only after a person has touched the page once.
    soundOn = true;
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    e.target.hidden = true;
  });

  function chime() {
    if (!soundOn || !audio) { return; }
    [660, 880].forEach(function (f, i) {
      var o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = f; o.connect(g); g.connect(audio.destination);
      var t = audio.currentTime + i * 0.35;
      g.gain.setValueAtTime(0.0001, t); g.gain.exponentialRampToValueAtTime(0.4, t + 0.03);
      g.gain.exponentialRampToValueAtTime(0.0001, t + 0.6);
      o.start(t); o.stop(t + 0.65);
    });
  }
  function voice(lang) {
    if (!window.speechSynthesis) { return null; }
    var vs = window.speechSynthesis.getVoices(), p = lang.split('-')[0].toLowerCase();
    for (var i = 0; i < vs.length; i++) { if (vs[i].lang.toLowerCase().split(/[-_]/)[0] === p) { return vs[i]; } }
    return null;
  }
  function say(lang, data) {
    var v = voice(lang), text = phrases[lang];
    if (!v || !text) { return false; }
    var u = new SpeechSynthesisUtterance(text.replace('{label}', data.label).replace('{desk}', data.desk_name || ''));
    u.voice = v; u.lang = v.lang;
    window.speechSynthesis.speak(u);
    return true;
  }
  function announce(data) {
    chime();
    if (!soundOn || !window.speechSynthesis) { return; }
    setTimeout(function () {
      say('fi', data);
      if (data.language && data.language !== 'fi') { say(data.language, data); }
    }, 900);
  }

  function snapshot() {
    return fetch(window.KotoLive.redrawURL(), { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) { throw new Error('snapshot ' + r.status); }
        var seq = Number(r.headers.get('X-Live-Seq'));
        return r.text().then(function (html) { region.innerHTML = html; return seq; });
      });
  }
  var pending = null;
  function redraw() {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; snapshot().catch(function () {}); }, 150);
  }
  window.KotoLive.connect({
    url: '/ws?display=' + encodeURIComponent(root.getAttribute('data-sp')),
    snapshot: snapshot,
    onEvent: function (ev) {
      if (ev.type === 'ticket.called' || ev.type === 'ticket.recalled') { announce(ev.data || {}); }
      redraw();
    },
    onStatus: function (s) { status.textContent = s === 'live' ? '' : status.getAttribute('data-' + s) || ''; }
  });
})();

// Kiosk behaviour: forget everything after a while without a touch, read
// the screen aloud where the browser has a voice for its language, print.
(function () {
  'use strict';
  var root = document.getElementById('kiosk');
  if (!root) { return; }
  var idleMS = parseInt(root.getAttribute('data-idle-ms'), 10) || 60000;
  var warnMS = parseInt(root.getAttribute('data-warn-ms'), 10) || 45000;
  var home = root.getAttribute('data-home');
  var dialog = document.getElementById('idle');
  var warnTimer, resetTimer;

  function goHome() {
    if (window.speechSynthesis) { window.speechSynthesis.cancel(); }
    window.location.replace(home);
  }
  function arm() {
    clearTimeout(warnTimer); clearTimeout(resetTimer);
    if (dialog.open) { dialog.close(); }
    // The first screen has nothing to forget; it only needs no warning.
    if (window.location.pathname === home && !window.location.search) { return; }
    warnTimer = setTimeout(function () { dialog.showModal(); document.getElementById('idle-yes').focus(); }, warnMS);
    resetTimer = setTimeout(goHome, idleMS);
  }
  ['pointerdown', 'keydown', 'touchstart'].forEach(function (ev) {
    document.addEventListener(ev, arm, { passive: true });
  });
  document.getElementById('idle-yes').addEventListener('click', arm);
  arm();

  var printBtn = document.getElementById('print');
  if (printBtn) { printBtn.addEventListener('click', function () { window.print(); }); }

  // Read aloud: only where a voice for the page's language exists.
  var speak = document.getElementById('speak');
  var lang = document.documentElement.lang;
  var want = (root.getAttribute('data-voice') || lang).toLowerCase();
  function voiceFor() {
    if (!window.speechSynthesis) { return null; }
    var voices = window.speechSynthesis.getVoices();
    var prefix = want.split('-')[0];
    var exact = null, near = null;
    for (var i = 0; i < voices.length; i++) {
      var v = voices[i].lang.toLowerCase().replace('_', '-');
      if (v === want) { exact = voices[i]; }
      if (!near && v.split('-')[0] === prefix) { near = voices[i]; }
    }
    return exact || near;
  }
  function offer() { speak.hidden = !voiceFor(); }
  if (window.speechSynthesis) {
    offer();
    window.speechSynthesis.addEventListener('voiceschanged', offer);
    speak.addEventListener('click', function () {
      var voice = voiceFor();
      if (!voice) { return; }
      window.speechSynthesis.cancel();
      var parts = document.querySelectorAll('[data-speak]');
      for (var i = 0; i < parts.length; i++) {
        var u = new SpeechSynthesisUtterance(parts[i].textContent.trim());
        u.voice = voice; u.lang = voice.lang;
        window.speechSynthesis.speak(u);
      }
    });
  }
})();

// Check-in: the keypad types into the code field, and a kiosk with a
// camera offers to read the appointment's QR code instead. Where the
// browser reads QR codes itself (BarcodeDetector) it does; elsewhere
// (Chromium on Linux) the page sends small grayscale frames to the portal,
// which reads them and answers with the code. Either way the code is then
// sent as a typed one, so it gets the same answers. The camera stops when
// a code is read, after a minute, or when the visitor leaves the screen.
// No camera, no button.
(function () {
  'use strict';
  var form = document.getElementById('checkin');
  if (!form) { return; }
  var input = document.getElementById('code');
  var pad = form.querySelector('.keypad');
  pad.hidden = false;
  pad.addEventListener('click', function (e) {
    var b = e.target.closest('button[data-key]');
    if (!b) { return; }
    var k = b.getAttribute('data-key');
    if (k === 'back') { input.value = input.value.slice(0, -1); }
    else if (k === 'clear') { input.value = ''; }
    else if (input.value.replace(/\D/g, '').length < 8) { input.value += k; }
  });

  var scan = document.getElementById('scan');
  var video = document.getElementById('camera');
  var hint = document.getElementById('scan-hint');
  var frameURL = form.getAttribute('data-frame');
  var csrf = form.querySelector('input[name="_csrf"]').value;
  var md = navigator.mediaDevices;
  if (!md || !md.enumerateDevices || !md.getUserMedia) { return; }
  // A frame every quarter second at most, at most side pixels a side.
  var lookMS = 250, side = 400;
  var native = null;
  var nativeOK = ('BarcodeDetector' in window) ?
    window.BarcodeDetector.getSupportedFormats().then(function (f) { return f.indexOf('qr_code') >= 0; }, function () { return false; }) :
    Promise.resolve(false);
  Promise.all([nativeOK, md.enumerateDevices()]).then(function (r) {
    if (r[0]) { native = new window.BarcodeDetector({ formats: ['qr_code'] }); }
    scan.hidden = !r[1].some(function (d) { return d.kind === 'videoinput'; });
  }).catch(function () {});

  var canvas = document.createElement('canvas');
  var ctx = null;
  // frame is the video's picture as the portal reads it: binary PGM,
  // grayscale, at most side pixels a side.
  function frame() {
    var w = video.videoWidth, h = video.videoHeight;
    if (!w || !h) { return null; }
    var scale = Math.min(1, side / Math.max(w, h));
    w = Math.round(w * scale); h = Math.round(h * scale);
    if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; ctx = null; }
    if (!ctx) { ctx = canvas.getContext('2d', { willReadFrequently: true }); }
    ctx.drawImage(video, 0, 0, w, h);
    var rgba = ctx.getImageData(0, 0, w, h).data;
    var head = 'P5\n' + w + ' ' + h + '\n255\n';
    var out = new Uint8Array(head.length + w * h);
    for (var i = 0; i < head.length; i++) { out[i] = head.charCodeAt(i); }
    for (var p = 0, o = head.length; p < rgba.length; p += 4, o++) {
      out[o] = (rgba[p] * 77 + rgba[p + 1] * 150 + rgba[p + 2] * 29) >> 8;
    }
    return out;
  }
  // read resolves to the text of a QR code the camera sees now, or "".
  function read() {
    if (native) {
      return native.detect(video).then(function (codes) {
        return codes.length ? String(codes[0].rawValue || '') : '';
      });
    }
    var body = frame();
    if (!body) { return Promise.resolve(''); }
    return fetch(frameURL, {
      method: 'POST', credentials: 'same-origin', body: body,
      headers: { 'Content-Type': 'application/octet-stream', 'Accept': 'application/json', 'X-CSRF-Token': csrf }
    }).then(function (r) {
      if (r.status === 403) { refused = true; throw new Error('frame refused'); }
      if (r.status !== 200) { return ''; }
      return r.json().then(function (j) { return String(j.code || ''); });
    });
  }

  var stream = null, timer = 0, deadline = 0, refused = false;
  function stop() {
    clearTimeout(timer);
    if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
    stream = null;
    video.srcObject = null;
    video.hidden = hint.hidden = true;
    scan.hidden = false;
  }
  function look() {
    if (!stream) { return; }
    if (Date.now() > deadline) { stop(); return; }
    Promise.resolve().then(read).then(function (text) {
      if (!stream) { return; }
      if (text) {
        stop();
        input.value = text;
        form.submit();
        return;
      }
      timer = setTimeout(look, lookMS);
    }, function () {
      // A refused frame (the kiosk unpaired meanwhile) ends the camera,
      // and the keypad still works; a lost answer or a picture not yet
      // there is only a frame missed.
      if (refused) { stop(); scan.hidden = true; return; }
      if (stream) { timer = setTimeout(look, lookMS * 4); }
    });
  }
  scan.addEventListener('click', function () {
    if (stream) { return; }
    md.getUserMedia({ video: true, audio: false }).then(function (s) {
      stream = s;
      // The camera gives up after the form's data-scan-ms (a minute), read
      // at each start so a test can shorten it.
      deadline = Date.now() + (parseInt(form.getAttribute('data-scan-ms'), 10) || 60000);
      video.srcObject = s;
      video.hidden = hint.hidden = false;
      scan.hidden = true;
      video.play().then(look, look);
    }).catch(function () { scan.hidden = true; });
  });
  // Leaving the screen, or the tab going away, turns the camera off.
  window.addEventListener('pagehide', stop);
  document.addEventListener('visibilitychange', function () { if (document.hidden) { stop(); } });
})();

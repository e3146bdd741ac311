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

// Check-in: the keypad types into the code field, and a kiosk whose
// browser can read QR codes (BarcodeDetector) and has a camera offers to
// read the appointment's QR code instead. No camera, no button.
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
  if (!('BarcodeDetector' in window) || !navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) { return; }
  Promise.all([window.BarcodeDetector.getSupportedFormats(), navigator.mediaDevices.enumerateDevices()]).then(function (r) {
    var camera = r[1].some(function (d) { return d.kind === 'videoinput'; });
    scan.hidden = !(camera && r[0].indexOf('qr_code') >= 0);
  }).catch(function () {});
  scan.addEventListener('click', function () {
    var video = document.getElementById('camera');
    var detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    navigator.mediaDevices.getUserMedia({ video: true }).then(function (stream) {
      var tries = 0;
      function stop() { stream.getTracks().forEach(function (t) { t.stop(); }); video.hidden = true; }
      function look() {
        detector.detect(video).then(function (codes) {
          for (var i = 0; i < codes.length; i++) {
            var v = String(codes[i].rawValue || '').replace(/\D/g, '');
            if (v.length === 8) { stop(); input.value = v; form.submit(); return; }
          }
          if (++tries < 300) { setTimeout(look, 200); } else { stop(); }
        }).catch(function () { if (++tries < 300) { setTimeout(look, 300); } else { stop(); } });
      }
      video.srcObject = stream;
      video.hidden = false;
      video.play().then(look, look);
    }).catch(function () { scan.hidden = true; });
  });
})();

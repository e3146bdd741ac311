// A printable page's "Print" button (no inline handlers under the CSP).
(function () {
  'use strict';
  var btn = document.getElementById('print-summary');
  if (btn) { btn.addEventListener('click', function () { window.print(); }); }
})();

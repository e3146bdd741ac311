// A printable page's "Print" button (no inline handlers under the CSP):
// the appointment and enrolment letters and the client summary.
(function () {
  'use strict';
  var btn = document.getElementById('print');
  if (btn) { btn.addEventListener('click', function () { window.print(); }); }
})();

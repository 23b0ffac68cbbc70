// Follows a long operation on its page (ui/pages/job.templ): asks for its
// progress every second and updates the bar in place; when it has ended,
// loads the page again, which then shows the result. The status line, a
// live region, changes only with the stage or every tenth of the way, so a
// screen reader is not interrupted every second. Any failure reloads the
// page, which shows what went wrong (and no longer runs this script).
(function () {
  'use strict';
  var panel = document.querySelector('[data-status-url]');
  if (!panel) {
    return;
  }
  var url = panel.getAttribute('data-status-url');
  var stage = document.getElementById('job-stage');
  var text = document.getElementById('job-text');
  var announced = '';
  function show(st) {
    var bar = document.getElementById('job-progress');
    if (st.of > 0) {
      bar.max = st.of;
      bar.value = st.done;
      bar.textContent = st.text;
    } else {
      bar.removeAttribute('value');
    }
    var step = st.of > 0 ? Math.floor(10 * st.done / st.of) : 0;
    var key = st.stage + '|' + step;
    if (key !== announced) {
      announced = key;
      stage.textContent = st.stage;
      text.textContent = st.text || 'Working…';
    }
  }
  function tick() {
    fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (r) {
        if (!r.ok) {
          throw new Error('status ' + r.status);
        }
        return r.json();
      })
      .then(function (st) {
        if (!st.running) {
          window.location.reload();
          return;
        }
        show(st);
        window.setTimeout(tick, 1000);
      })
      .catch(function () {
        window.location.reload();
      });
  }
  window.setTimeout(tick, 1000);
}());

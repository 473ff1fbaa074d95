// Participant-page behaviour: wait for images, measure response time, keyboard answers,
// minimum viewing time, no double submission, completion redirect. No inline script (CSP).
(function () {
  "use strict";
  var form = document.getElementById("trial-form");
  if (form) { setUpTrial(form); }
  var link = document.getElementById("completion-link");
  if (link && link.dataset.redirect) {
    setTimeout(function () { window.location.assign(link.dataset.redirect); }, 4000);
  }

  function setUpTrial(form) {
    var minView = parseInt(form.dataset.minView || "0", 10);
    var points = parseInt(form.dataset.points || "5", 10);
    var submit = document.getElementById("submit");
    var rtField = document.getElementById("rt_ms");
    var questions = Array.prototype.slice.call(form.querySelectorAll("fieldset.question"));
    var started = null;
    var sent = false;
    form.classList.add("loading");
    submit.disabled = true;

    var images = Array.prototype.slice.call(document.querySelectorAll(".images img"));
    Promise.all(images.map(function (img) {
      return img.complete ? Promise.resolve() : new Promise(function (ok) {
        img.addEventListener("load", ok); img.addEventListener("error", ok);
      });
    })).then(function () {
      started = performance.now();
      form.classList.remove("loading");
      setTimeout(function () { submit.disabled = false; }, minView);
      markActive();
    });

    function answered(q) { return q.querySelector("input:checked") !== null; }
    function markActive() {
      var first = questions.find(function (q) { return !answered(q); });
      questions.forEach(function (q) { q.classList.toggle("active", q === first); });
    }
    form.addEventListener("change", markActive);

    document.addEventListener("keydown", function (event) {
      if (started === null || event.altKey || event.ctrlKey || event.metaKey) { return; }
      var n = parseInt(event.key, 10);
      if (n >= 1 && n <= points) {
        var target = questions.find(function (q) { return q.classList.contains("active"); }) ||
                     questions[questions.length - 1];
        var input = target.querySelector('input[value="' + n + '"]');
        if (input) { input.checked = true; markActive(); }
        event.preventDefault();
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (!submit.disabled) { form.requestSubmit(submit); }
      }
    });

    form.addEventListener("submit", function (event) {
      if (sent || started === null || submit.disabled) { event.preventDefault(); return; }
      if (!questions.every(answered)) { return; }  // the browser shows which is missing
      rtField.value = String(Math.round(performance.now() - started));
      sent = true;
      submit.disabled = true;
    });
  }
})();

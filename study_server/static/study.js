// Participant-page behaviour: wait for images, measure response time, keyboard answers,
// minimum viewing time, no double submission, answers kept and sent again after a network
// failure, presence ping once a minute, completion redirect. No inline script (CSP).
(function () {
  "use strict";
  var STORE = "pending-answer";  // the answer of this tab that the server has not confirmed yet
  var form = document.getElementById("trial-form");
  if (form) { setUpTrial(form); }
  var page = document.querySelector("main[data-alive]");
  if (page) {  // an open page is a participant who is still there (abandonment: docs/study_server.md)
    setInterval(function () {
      fetch(page.dataset.alive, { credentials: "same-origin", cache: "no-store" }).catch(function () {});
    }, 60000);
  }
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
    var ready = Promise.all(images.map(function (img) {
      return img.complete ? Promise.resolve() : new Promise(function (ok) {
        img.addEventListener("load", ok); img.addEventListener("error", ok);
      });
    })).then(function () {
      started = performance.now();
      form.classList.remove("loading");
      form.dataset.ready = "true";  // images shown, time running, keys answer (the server's HTML lacks it)
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

    // An answer is sent in the background (the plain form post is the fallback without script).
    // Until the server confirms it, it is kept in this tab (sessionStorage, with the response time
    // of the first try): after a failed try, reloading the page or going back shows this trial
    // again and sends the kept answer, with the same response time, once more. If the server had
    // stored it and only the reply was lost, the reload shows the next trial instead and the kept
    // answer is dropped.
    var key = form.dataset.key;
    var errorBox = document.getElementById("submit-error");
    var pending = readPending();
    if (pending && pending.key !== key) { clearPending(); pending = null; }
    if (pending) {
      Object.keys(pending.ratings).forEach(function (q) {
        var input = form.querySelector('input[name="q_' + q + '"][value="' + pending.ratings[q] + '"]');
        if (input) { input.checked = true; }
      });
      markActive();
      document.getElementById("resend-notice").hidden = false;
      ready.then(function () { send(pending.rt); });
    }

    form.addEventListener("submit", function (event) {
      if (sent || started === null || submit.disabled) { event.preventDefault(); return; }
      if (!questions.every(answered)) { return; }  // the browser shows which is missing
      if (!window.fetch || !window.FormData) {  // old browser: the plain form post
        rtField.value = String(Math.round(performance.now() - started));
        sent = true;
        submit.disabled = true;
        return;
      }
      event.preventDefault();
      var kept = readPending();
      send(kept && kept.key === key ? kept.rt : Math.round(performance.now() - started));
    });

    function send(rt) {
      var ratings = {};
      questions.forEach(function (q) {
        var input = q.querySelector("input:checked");
        if (input) { ratings[input.name.slice(2)] = input.value; }
      });
      rtField.value = String(rt);
      writePending({ key: key, rt: rt, ratings: ratings });
      sent = true;
      submit.disabled = true;
      errorBox.hidden = true;
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json" }, redirect: "error"
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (response.ok) { clearPending(); window.location.assign(form.dataset.next); return; }
          if (response.status === 409) { clearPending(); }  // the server holds another state: reload shows it
          failed("The study server did not accept this answer: " + (body.error || "error " + response.status) +
                 ". Reload this page to continue.");
        });
      }, function () {
        failed("Your answer was not sent: the connection to the study server was lost. Your answer and " +
               "its time are kept in this browser. When you are back online, reload this page (or press " +
               "Continue) to send it.");
      });
    }

    function failed(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      document.getElementById("resend-notice").hidden = true;
      sent = false;
      submit.disabled = false;
    }
  }

  function readPending() {
    try { return JSON.parse(window.sessionStorage.getItem(STORE) || "null"); } catch (e) { return null; }
  }
  function writePending(value) {
    try { window.sessionStorage.setItem(STORE, JSON.stringify(value)); } catch (e) { /* storage off */ }
  }
  function clearPending() {
    try { window.sessionStorage.removeItem(STORE); } catch (e) { /* storage off */ }
  }

  // A trial page restored from the back/forward cache would show an old trial: load it afresh.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.getElementById("trial-form")) { window.location.reload(); }
  });
})();

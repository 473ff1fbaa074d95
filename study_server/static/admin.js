// Dashboard: refresh the numbers every 10 s from /api/progress.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function refresh() {
    fetch(root.dataset.progress, { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (p) {
      if (!p) { return; }
      root.querySelectorAll("[data-key]").forEach(function (el) {
        var v = p[el.dataset.key];
        if (el.dataset.key === "open") { v = v ? "open" : "closed"; }
        else if (el.dataset.key === "median_duration_s") { v = v === null ? "–" : Math.round(v); }
        el.textContent = String(v);
      });
      var body = document.getElementById("ratings-body");
      body.replaceChildren.apply(body, p.ratings.map(function (r) {
        var tr = document.createElement("tr");
        [r.method, r.question, r.n, r.mean].forEach(function (v) { tr.appendChild(cell(String(v))); });
        return tr;
      }));
    });
  }
  setInterval(refresh, 10000);
})();

// Dashboard: refresh the numbers every 10 s from /api/progress.
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root) { return; }
  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function fill(id, rows, values) {
    var body = document.getElementById(id);
    body.replaceChildren.apply(body, rows.map(function (r) {
      var tr = document.createElement("tr");
      values(r).forEach(function (v) { tr.appendChild(cell(String(v))); });
      return tr;
    }));
  }
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
      fill("ratings-body", p.ratings, function (r) { return [r.method, r.question, r.n, r.mean]; });
      fill("lists-body", p.lists, function (c) { return [c.list, c.completed, c.in_progress, c.abandoned, c.taken]; });
    });
  }
  setInterval(refresh, 10000);
})();

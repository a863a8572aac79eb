/* Resident pages, progressive enhancement only: every page works without this file.
   - Ballot: keeps "已选 n/m", the points spent and the budget bar current as boxes are
     ticked, says in words when the selection goes over, and keeps the choices in
     sessionStorage so a reload or the back button does not lose them before "下一步".
   - Review: one confirmation per tap (the server also copes with two).
   - Receipt: a copy button for the receipt code; forgets the stored choices. */
(function () {
  "use strict";
  var store = null;
  try { store = window.sessionStorage; } catch (e) { store = null; }

  function formatYuan(value, tally) {
    if (value >= 10000) {
      var wan = (value / 10000).toFixed(2).replace(/0+$/, "").replace(/\.$/, "");
      return tally.dataset.wan.replace("{n}", wan);
    }
    return tally.dataset.yuan.replace("{n}", value.toLocaleString("en-US"));
  }

  function ballot(form) {
    var tally = document.getElementById("tally");
    if (!tally) { return; }
    var key = "ballot:" + form.dataset.draft;
    var boxes = form.querySelectorAll("input[name=choices]");
    var points = form.querySelectorAll("input.points");
    var max = parseInt(tally.dataset.max, 10);
    var budget = tally.dataset.budget ? parseInt(tally.dataset.budget, 10) : null;
    var pointsTotal = tally.dataset.points ? parseInt(tally.dataset.points, 10) : null;
    var warning = tally.querySelector("[data-warning]");

    function state() {
      var s = {};
      boxes.forEach(function (b) { if (b.checked) { s[b.value] = 1; } });
      points.forEach(function (p) { if (p.value !== "") { s[p.name] = p.value; } });
      return s;
    }

    function update() {
      var count = 0, total = 0, spent = 0;
      boxes.forEach(function (b) {
        if (b.checked) { count += 1; total += parseInt(b.dataset.cost, 10) || 0; }
      });
      points.forEach(function (p) {
        var v = parseInt(p.value, 10);
        if (v > 0) { count += 1; spent += v; }
      });
      tally.querySelector("[data-count]").textContent = count;
      var spentEl = tally.querySelector("[data-spent]");
      if (spentEl) { spentEl.textContent = spent; }
      var message = "";
      if (count > max) {
        message = tally.dataset.tooMany.replace("{n}", count);
      } else if (pointsTotal !== null && spent > pointsTotal) {
        message = tally.dataset.tooManyPoints;
      }
      if (budget !== null) {
        tally.querySelector("[data-total]").textContent = formatYuan(total, tally);
        tally.querySelector("meter").value = Math.min(total, budget);
        if (total > budget && !message) { message = tally.dataset.overBudget; }
      }
      warning.textContent = message;
      warning.hidden = !message;
      tally.classList.toggle("over", !!message);
      if (store) { store.setItem(key, JSON.stringify(state())); }
    }

    // A fresh page shows what the server remembered; if it remembered nothing, bring back
    // what was ticked before a reload.
    var saved = store && store.getItem(key);
    var empty = Object.keys(state()).length === 0;
    if (saved && empty) {
      try {
        var s = JSON.parse(saved);
        boxes.forEach(function (b) { b.checked = s[b.value] === 1; });
        points.forEach(function (p) { if (s[p.name] !== undefined) { p.value = s[p.name]; } });
      } catch (e) { store.removeItem(key); }
    }
    form.addEventListener("input", update);
    form.addEventListener("change", update);
    window.addEventListener("pageshow", update);
    update();
  }

  function confirmOnce(form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      var button = form.querySelector("button[type=submit]");
      if (button) { button.setAttribute("aria-disabled", "true"); }
    });
    // Coming back with the back button: allow a new attempt.
    window.addEventListener("pageshow", function () { delete form.dataset.sent; });
  }

  function receipt(button) {
    var target = document.getElementById(button.dataset.copy);
    var status = document.getElementById(button.dataset.status);
    if (!target || !navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.textContent.trim()).then(function () {
        status.textContent = status.dataset.done;
      }, function () {
        status.textContent = status.dataset.failed;
      });
    });
  }

  function forgetDrafts() {
    if (!store) { return; }
    Object.keys(store).forEach(function (k) {
      if (k.indexOf("ballot:") === 0) { store.removeItem(k); }
    });
  }

  var form = document.getElementById("ballot");
  if (form) { ballot(form); }
  var confirm = document.getElementById("confirm-form");
  if (confirm) { confirmOnce(confirm); }
  var copy = document.querySelector("button[data-copy]");
  if (copy) { receipt(copy); }
  // After a ballot is cast, and before a new voter session starts on this phone.
  if (copy || document.body.classList.contains("forget-drafts")) { forgetDrafts(); }
}());

// Progressive enhancement of the report form: post to /v1/reports without leaving
// the page. Without JavaScript the form still posts to /s/{service}/report.
(function () {
  "use strict";
  function zone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
    } catch (e) {
      return null;
    }
  }

  function unlisted(resp) {
    return resp.json().then(function (answer) {
      var code = answer && answer.error && answer.error.code;
      return code === "unknown_service" ? "unlisted" : "failed";
    }, function () { return "failed"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.report");
    if (!form || !window.fetch) return;
    var note = form.querySelector(".thanks");
    var button = form.querySelector("button");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var picked = form.querySelector("input[name=problem]:checked");
      var body = { service: form.dataset.service };
      if (picked) body.problem = picked.value;
      // The browser's time zone stands in for a region (the server maps it to a country).
      var tz = zone();
      if (tz) body.tz = tz;
      button.disabled = true;
      fetch("/v1/reports", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body)
      }).then(function (resp) {
        // "Counted" only when the server said so: a duplicate is stored, not counted.
        if (resp.status === 429) return "limited";
        // A service the catalog does not hold: say why, not just "failed".
        if (resp.status === 422) return unlisted(resp);
        if (!resp.ok) return "failed";
        return resp.json().then(function (answer) {
          return answer && answer.counted === true ? "counted" : "notCounted";
        }, function () { return "failed"; });
      }, function () {
        return "offline";
      }).then(function (said) {
        // The page's words, in its language (data attributes: no inline script).
        note.textContent = form.dataset[said] || "";
        note.classList.toggle("bad", said !== "counted");
        note.hidden = false;
        button.disabled = false;
      });
    });
  });
})();

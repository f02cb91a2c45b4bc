// Pages that stay current: when the live stream (<body data-stream>) says an incident
// opened, escalated or resolved, the page is fetched again and each part marked
// data-live is swapped for its fresh copy. The report form is not such a part, so a
// reader's choice is kept. The fresh HTML is parsed inert (DOMParser runs no scripts).
(function () {
  "use strict";
  var EVENTS = ["opened", "escalated", "resolved"];
  var WAIT_MS = 250; // events come in bursts (a service and its regions): one refresh

  document.addEventListener("DOMContentLoaded", function () {
    var stream = document.body.getAttribute("data-stream");
    if (!stream || !window.EventSource || !window.fetch || !window.DOMParser) return;
    var timer = null, busy = false, again = false;

    function swap(html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (old) {
        var key = old.getAttribute("data-live");
        var next = Array.prototype.find.call(fresh.querySelectorAll("[data-live]"), function (n) {
          return n.getAttribute("data-live") === key;
        });
        if (next) old.replaceWith(document.importNode(next, true));
      });
      if (fresh.title) document.title = fresh.title;
      document.dispatchEvent(new CustomEvent("outagewatch:updated"));
    }

    function refresh() {
      timer = null;
      if (busy) { again = true; return; }
      busy = true;
      // no-cache: pages may be kept 10 s by the browser; this asks the server again.
      fetch(location.pathname + location.search, { cache: "no-cache", credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html) swap(html); })
        .catch(function () { /* offline: the next event tries again */ })
        .then(function () {
          busy = false;
          if (again) { again = false; soon(); }
        });
    }

    function soon() {
      if (!timer) timer = setTimeout(refresh, WAIT_MS);
    }

    var source = new EventSource(stream);
    EVENTS.forEach(function (type) { source.addEventListener(type, soon); });
    document.body.setAttribute("data-live-stream", "open");
    source.addEventListener("open", function () {
      document.body.setAttribute("data-live-stream", "connected");
    });
  });
})();

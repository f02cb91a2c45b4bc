/* outagewatch widget: <script src="https://HOST/widget.js" data-service="amazon" async></script>
 * Renders a status card in a shadow root next to the script tag: level, a 24-hour
 * sparkline, and "Report a problem". Talks only to the origin it was loaded from;
 * data goes in through textContent and setAttribute, never innerHTML.
 * Language: data-lang="pl", else the host page's <html lang>, else English; the words
 * come from the server with the status (/v1/services/{service}/widget.json). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src) return;
  var origin = new URL(script.src).origin;
  var service = (script.getAttribute("data-service") || "").trim();
  var lang = (script.getAttribute("data-lang") || document.documentElement.lang || "en").trim();
  if (!/^[A-Za-z]{1,8}([-_][A-Za-z0-9]{1,8})*$/.test(lang)) lang = "en";
  var PROBLEMS = ["login", "app", "website", "payments", "connection", "other"];
  var LEVELS = ["none", "possible", "outage", "unknown", "learning", "maintenance"];
  // The first paint is blank (no English before the reader's words); if the server's
  // words never arrive, OFFLINE below says what it must in the reader's language.
  var TEXT = {
    none: "No problems", possible: "Possible problems", outage: "Outage", unknown: "No data yet",
    learning: "Learning", maintenance: "Planned maintenance", report: "Report a problem", counted: "Thanks, your report was counted.",
    not_counted: "Received, but not counted: a report of this service from you or your network was already counted within the hour.",
    limited: "Too many reports from your network just now: please try again in a minute.",
    failed: "Sorry, that failed.", unlisted: "", no_data: "No reports in the last 24 hours.",
    set_service: "Set data-service to a service name, like amazon.", unavailable: "Status unavailable."
  };
  // The words for a server that cannot be reached, in every language: the server puts
  // them in as it serves this script, so even that is said in the reader's language.
  var OFFLINE = /*OFFLINE*/{};
  var mine = OFFLINE[lang.toLowerCase()] || OFFLINE[lang.toLowerCase().split(/[-_]/)[0]] || {};
  Object.keys(mine).forEach(function (k) { TEXT[k] = mine[k]; });
  var WORDS = {};
  var SVG = "http://www.w3.org/2000/svg";
  var CSS =
    ":host{all:initial;display:block;max-width:340px;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;color:#1c2330}" +
    ".card{border:1px solid #e4e7ec;border-radius:12px;background:#fff;padding:14px 16px;box-shadow:0 1px 3px rgba(16,24,40,.08)}" +
    ".head{display:flex;align-items:center;justify-content:space-between;gap:8px}" +
    ".name{font-weight:700;font-size:16px;color:#1c2330;text-decoration:none}" +
    ".pill{padding:3px 10px;border-radius:999px;font-size:12px;font-weight:600;background:#e7f6ec;color:#1f9d55;white-space:nowrap}" +
    ".possible .pill{background:#fdf1e4;color:#c4620f}.outage .pill{background:#fde8ea;color:#c8283a}" +
    ".unknown .pill,.learning .pill{background:#eef0f4;color:#667085}" +
    ".maintenance .pill{background:#e6f0fb;color:#0969da}" +
    "svg{display:block;width:100%;height:40px;margin:10px 0 4px}" +
    "polyline{fill:none;stroke:#c8283a;stroke-width:1.5;stroke-linejoin:round}" +
    ".none polyline{stroke:#1f9d55}.area{stroke:none;fill:#c8283a;fill-opacity:.1}.none .area{fill:#1f9d55}" +
    ".meta{color:#667085;font-size:12px}.meta a{color:#667085}" +
    "button{font:inherit;cursor:pointer;border-radius:8px}" +
    ".report{margin-top:10px;width:100%;padding:8px;border:0;background:#c8283a;color:#fff;font-weight:600}" +
    ".choices{display:flex;flex-wrap:wrap;gap:6px;margin-top:10px}.choices[hidden]{display:none}" +
    ".choice{padding:5px 10px;border:1px solid #e4e7ec;background:#fff;color:#1c2330;font-size:13px;border-radius:999px}" +
    ".incident{margin-top:6px;font-size:13px;font-weight:600}.incident[hidden]{display:none}" +
    ".choice:hover{border-color:#1c2330}.thanks{margin-top:10px;color:#1f9d55;font-weight:600}.thanks.bad{color:#c4620f}";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }

  var host = el("div");
  host.setAttribute("data-outagewatch", service);
  var parent = script.parentNode;
  if (parent && parent !== document.head) parent.insertBefore(host, script.nextSibling);
  else document.body.appendChild(host); // a tag in <head> renders at the end of <body>
  var root = host.attachShadow({ mode: "open" });
  var style = el("style", null, CSS);
  var card = el("div", "card unknown");
  root.appendChild(style);
  root.appendChild(card);

  var head = el("div", "head");
  var name = el("a", "name", service || "outagewatch");
  var pill = el("span", "pill", "");
  // The service's open outage as one line ("Outage: aws — US, DE, and FR"), when there is one.
  var incident = el("div", "incident", "");
  incident.hidden = true;
  var spark = document.createElementNS(SVG, "svg");
  var meta = el("div", "meta", "");
  var report = el("button", "report", "");
  var choices = el("div", "choices");
  var thanks = el("div", "thanks", "");
  thanks.hidden = true;
  choices.hidden = true;
  report.hidden = true; // until there are words for it
  report.type = "button";
  name.href = origin + "/s/" + encodeURIComponent(service);
  name.target = "_blank";
  name.rel = "noopener";
  spark.setAttribute("viewBox", "0 0 200 40");
  spark.setAttribute("preserveAspectRatio", "none");
  spark.setAttribute("aria-hidden", "true");
  head.appendChild(name);
  head.appendChild(pill);
  [head, incident, spark, meta, report, choices, thanks].forEach(function (n) { card.appendChild(n); });

  // The browser's time zone stands in for a region (the server maps it to a country).
  function withZone(body) {
    try {
      var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
      if (tz) body.tz = tz;
    } catch (e) { /* no Intl: a report without a region */ }
    return body;
  }

  function setLevel(level) {
    level = LEVELS.indexOf(level) >= 0 ? level : "unknown";
    card.className = "card " + level;
    pill.textContent = TEXT[level];
  }

  function setWords(d) {
    Object.keys(TEXT).forEach(function (k) { if (typeof d.text[k] === "string") TEXT[k] = d.text[k]; });
    WORDS = d.problems || {};
    card.setAttribute("lang", d.lang);
    card.setAttribute("dir", d.dir === "rtl" ? "rtl" : "ltr");
    report.textContent = TEXT.report;
    report.hidden = false;
    Array.prototype.forEach.call(choices.children, function (b) {
      var p = b.getAttribute("data-problem");
      if (typeof WORDS[p] === "string") b.textContent = WORDS[p];
    });
  }

  function drawSpark(series) {
    // 24 h of buckets -> 96 columns, the busiest bucket of each, so a spike shows;
    // square-root heights so normal traffic is not flattened by an outage.
    var n = 96, step = Math.max(1, Math.ceil(series.length / n)), vals = [];
    for (var i = 0; i < series.length; i += step) {
      var top = 0;
      for (var j = i; j < Math.min(series.length, i + step); j++) top = Math.max(top, +series[j].count || 0);
      vals.push(top);
    }
    if (vals.length < 2) return;
    var max = Math.max(1, Math.max.apply(null, vals)), dx = 200 / (vals.length - 1), pts = [];
    vals.forEach(function (v, k) { pts.push((k * dx).toFixed(1) + "," + (38 - 36 * Math.sqrt(v / max)).toFixed(1)); });
    var area = document.createElementNS(SVG, "polygon");
    area.setAttribute("class", "area");
    area.setAttribute("points", "0,40 " + pts.join(" ") + " 200,40");
    var line = document.createElementNS(SVG, "polyline");
    line.setAttribute("points", pts.join(" "));
    while (spark.firstChild) spark.removeChild(spark.firstChild);
    spark.appendChild(area);
    spark.appendChild(line);
  }

  var VALID = /^[a-z0-9][a-z0-9._-]{0,63}$/.test(service);

  function load(fresh) {
    var valid = VALID;
    var path = "/v1/services/" + (valid ? service : "-") + "/widget.json?lang=" + encodeURIComponent(lang);
    // fresh: after an incident event, past the browser's cached copy.
    fetch(origin + path, { credentials: "omit", cache: fresh ? "no-cache" : "default" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) throw new Error("no answer");
        setWords(d);
        // The catalog's display name, as text (never markup); its own direction.
        if (valid && d.name) { name.textContent = d.name; name.dir = "auto"; }
        if (!valid) {
          setLevel("unknown");
          meta.textContent = TEXT.set_service;
          report.hidden = true;
          return;
        }
        var s = d.status;
        if (!s && d.listed === false) {  // reports of it would be refused: say why
          setLevel("unknown");
          meta.textContent = TEXT.unlisted;
          report.hidden = true;
          return;
        }
        if (!s) { setLevel("unknown"); meta.textContent = TEXT.no_data; return; }
        setLevel(s.level === "none" && s.learning ? "learning" : s.level);
        drawSpark(s.series || []);
        incident.textContent = s.incident || "";
        incident.hidden = !s.incident;
        meta.textContent = s.meta;
      })
      .catch(function () {
        setLevel("unknown");
        meta.textContent = TEXT.unavailable;
        if (!report.textContent) { report.textContent = TEXT.report; report.hidden = false; }
      });
  }

  report.addEventListener("click", function () {
    choices.hidden = !choices.hidden;
  });
  PROBLEMS.forEach(function (p) {
    var b = el("button", "choice", p);
    b.type = "button";
    b.setAttribute("data-problem", p);
    b.addEventListener("click", function () {
      choices.hidden = true;
      report.disabled = true;
      // text/plain keeps this a CORS "simple" request: no preflight round trip.
      fetch(origin + "/v1/reports", {
        method: "POST",
        credentials: "omit",
        headers: { "content-type": "text/plain" },
        body: JSON.stringify(withZone({ service: service, problem: p }))
      }).then(function (r) {
        // "Counted" only when the server said so: a duplicate is stored, not counted.
        if (r.status === 429) return "limited";
        // A service the catalog does not hold: say why, not just "failed".
        if (r.status === 422) {
          return r.json().then(function (a) {
            return a && a.error && a.error.code === "unknown_service" ? "unlisted" : "failed";
          }, function () { return "failed"; });
        }
        if (!r.ok) return "failed";
        return r.json().then(function (a) {
          return a && a.counted === true ? "counted" : "not_counted";
        }, function () { return "failed"; });
      }, function () {
        return "failed";
      }).then(function (said) {
        thanks.textContent = TEXT[said] || TEXT.failed;
        thanks.className = said === "counted" ? "thanks" : "thanks bad";
        thanks.hidden = false;
        report.disabled = false;
        setTimeout(function () { load(true); }, 1500);
      });
    });
    choices.appendChild(b);
  });
  load(false);

  // Live: the service's incident events (server-sent) reload the status in place.
  if (VALID && window.EventSource) {
    var pending = null;
    var events = new EventSource(origin + "/v1/outages/stream?service=" + encodeURIComponent(service));
    ["opened", "escalated", "resolved"].forEach(function (type) {
      events.addEventListener(type, function () {
        if (!pending) pending = setTimeout(function () { pending = null; load(true); }, 250);
      });
    });
    events.addEventListener("open", function () { host.setAttribute("data-live", "connected"); });
  }
})();

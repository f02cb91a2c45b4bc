// The reader's time: the server writes <time datetime="...Z" data-local="hm|dt"> in UTC,
// labelled "UTC"; here each is rewritten in the browser's own time zone, the page's
// language, with the zone's short name. Without JavaScript they read UTC.
(function () {
  "use strict";
  function localize() {
    var lang = document.documentElement.lang || undefined;
    var short, dated, full, axis;
    try {
      axis = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit" });
      short = new Intl.DateTimeFormat(lang, { hour: "numeric", minute: "2-digit", timeZoneName: "short" });
      dated = new Intl.DateTimeFormat(lang, {
        year: "numeric", month: "short", day: "numeric", hour: "numeric", minute: "2-digit",
        timeZoneName: "short"
      });
      full = new Intl.DateTimeFormat(lang, {
        year: "numeric", month: "long", day: "numeric", hour: "numeric", minute: "2-digit",
        timeZoneName: "long"
      });
    } catch (e) {
      return; // no Intl: UTC, as the server wrote it
    }
    // hm: an hour and minute of today's outages; dt: a date too (maintenance windows).
    var times = document.querySelectorAll("time[data-local=hm], time[data-local=dt]");
    Array.prototype.forEach.call(times, function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when.getTime())) return;
      el.textContent = (el.getAttribute("data-local") === "dt" ? dated : short).format(when);
      el.title = full.format(when);
      el.setAttribute("data-local", "shown");
    });
    // The chart's time axis (SVG text, not <time>): its times, and "UTC" becomes the zone.
    Array.prototype.forEach.call(document.querySelectorAll("svg text[data-utc]"), function (el) {
      var when = new Date(el.getAttribute("data-utc"));
      if (!isNaN(when.getTime())) el.textContent = axis.format(when);
    });
    var zone = (short.formatToParts ? short.formatToParts(new Date()) : []).filter(function (p) {
      return p.type === "timeZoneName";
    });
    Array.prototype.forEach.call(document.querySelectorAll("svg text[data-zone]"), function (el) {
      if (zone.length) el.textContent = zone[0].value;
    });
  }
  document.addEventListener("DOMContentLoaded", localize);
  // live.js swaps in fresh parts of the page, with UTC times again.
  document.addEventListener("outagewatch:updated", localize);
})();

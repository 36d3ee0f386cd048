// Charts for the location page, drawn with the vendored Chart.js from /chart.json.
(function () {
  "use strict";
  var COLORS = { nps: "#2358c4", csat: "#1d7a46", ces: "#8a4fc4", smiley: "#c46a1d" };

  function bandDatasets(name, s) {
    var color = COLORS[name] || "#2358c4";
    return [
      { label: s.label + " 95% low", data: s.lo, borderWidth: 0, pointRadius: 0,
        fill: false, spanGaps: false, _band: true },
      { label: s.label + " 95% interval", data: s.hi, borderWidth: 0, pointRadius: 0,
        backgroundColor: color + "33", fill: "-1", spanGaps: false, _band: true },
      { label: s.label, data: s.value, borderColor: color, backgroundColor: color,
        pointRadius: 2, borderWidth: 2, fill: false, spanGaps: false }
    ];
  }

  function drawTrend(container, trend) {
    // One small chart per score: NPS (-100..100), the shares (%) and CES (1..scale) each get
    // their own y axis, and the x axis spans only the days that have answers.
    Object.keys(trend.series).forEach(function (name) {
      var s = trend.series[name];
      var box = document.createElement("div");
      box.className = "chart small trend-" + name;
      var canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", s.label + " per day with its 95% interval");
      box.appendChild(canvas);
      container.appendChild(box);
      new Chart(canvas, {
        type: "line",
        data: { labels: trend.labels, datasets: bandDatasets(name, s) },
        options: {
          maintainAspectRatio: false, animation: false,
          interaction: { mode: "index", intersect: false },
          plugins: {
            title: { display: true, text: s.label, align: "start" },
            legend: { display: false },
            tooltip: { filter: function (item) { return !item.dataset._band; } }
          },
          scales: {
            x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } },
            y: { ticks: { maxTicksLimit: 5, callback: function (v) { return v + s.unit; } } }
          }
        }
      });
    });
    if (!Object.keys(trend.series).length) {
      var none = document.createElement("p");
      none.className = "muted";
      none.textContent = "No answers in this period.";
      container.appendChild(none);
    }
  }

  function drawDistribution(container, dist) {
    // One bar chart per kind and scale: an NPS 0..10 and a smiley 1..5 never share an axis.
    Object.keys(dist).forEach(function (key, i) {
      var palette = ["#2358c4", "#c46a1d", "#1d7a46", "#8a4fc4"];
      var box = document.createElement("div");
      box.className = "chart small";
      var canvas = document.createElement("canvas");
      canvas.setAttribute("role", "img");
      canvas.setAttribute("aria-label", dist[key].title + ": answers per value");
      box.appendChild(canvas);
      container.appendChild(box);
      new Chart(canvas, {
        type: "bar",
        data: { labels: dist[key].labels, datasets: [{ label: dist[key].title,
          data: dist[key].counts, backgroundColor: palette[i % palette.length] }] },
        options: { maintainAspectRatio: false, animation: false,
          scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var trend = document.getElementById("trend");
    if (!trend || typeof Chart === "undefined") { return; }
    fetch(trend.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        drawTrend(trend, data.trend);
        var dist = document.getElementById("distribution");
        if (dist) { drawDistribution(dist, data.distribution); }
        document.body.setAttribute("data-charts", "ready");
      })
      .catch(function () { document.body.setAttribute("data-charts", "failed"); });
  });
}());

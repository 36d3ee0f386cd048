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


  function lineChart(box, labels, sets, title) {
    // Two series on their own y axes (left and right): a rate beside a share, a score beside a KPI.
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", title);
    var holder = document.createElement("div");
    holder.className = "chart small";
    holder.appendChild(canvas);
    box.appendChild(holder);
    new Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: sets.map(function (s, i) {
        return { label: s.label, data: s.data, yAxisID: i ? "y1" : "y", borderColor: s.color,
          backgroundColor: s.color, pointRadius: 2, borderWidth: 2, spanGaps: false };
      }) },
      options: {
        maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { title: { display: true, text: title, align: "start" },
          legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { ticks: { maxTicksLimit: 6, maxRotation: 0 } },
          y: { position: "left", ticks: { maxTicksLimit: 5 },
            title: { display: true, text: sets[0].axis } },
          y1: { position: "right", grid: { drawOnChartArea: false }, ticks: { maxTicksLimit: 5 },
            title: { display: true, text: sets[1].axis } }
        }
      }
    });
  }

  function scatterChart(box, data) {
    var canvas = document.createElement("canvas");
    canvas.setAttribute("role", "img");
    canvas.setAttribute("aria-label", data.score_label + " against " + data.kpi_label + ": " +
      data.link.words + ", n=" + data.link.n);
    var holder = document.createElement("div");
    holder.className = "chart small";
    holder.appendChild(canvas);
    box.appendChild(holder);
    new Chart(canvas, {
      type: "scatter",
      data: { datasets: [{ label: data.grain + "s", data: data.points,
        backgroundColor: "#2358c4aa", pointRadius: 3 }] },
      options: {
        maintainAspectRatio: false, animation: false,
        plugins: { legend: { display: false },
          title: { display: true, align: "start",
            text: data.score_label + " vs " + data.kpi_label.split(" (")[0].toLowerCase() +
              ": " + data.link.words + " (n=" + data.link.n + ")" },
          tooltip: { callbacks: { label: function (c) {
            return c.raw.period + ": " + c.raw.x + " / " + c.raw.y; } } } },
        scales: { x: { title: { display: true, text: data.score_label } },
          y: { title: { display: true, text: data.kpi_label.split(" (")[0] } } }
      }
    });
  }

  function drawBusiness(box, data) {
    var unit = data.grain === "week" ? "per week" : "per day";
    lineChart(box, data.labels, [
      { label: "Response rate", data: data.response_rate, color: "#2358c4",
        axis: "responses per 100 visitors" },
      { label: "Coverage %", data: data.coverage, color: "#1d7a46", axis: "% of opening hours" }
    ], "Response rate and coverage " + unit);
    lineChart(box, data.labels, [
      { label: data.score_label, data: data.scores, color: "#c46a1d", axis: data.score_label },
      { label: data.kpi_label.split(" (")[0], data: data.kpis, color: "#8a4fc4",
        axis: data.kpi_label.split(" (")[0] }
    ], data.score_label + " beside " + data.kpi_label.split(" (")[0].toLowerCase() + " " + unit);
    scatterChart(box, data);
  }

  function loadBusiness() {
    var box = document.getElementById("business-charts");
    if (!box) { return Promise.resolve(); }
    return fetch(box.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) { drawBusiness(box, data); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    // The score and KPI choices apply at once; without this script the Show button does.
    Array.prototype.forEach.call(document.querySelectorAll("form.link-choice"), function (form) {
      form.classList.add("js-applies");
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
        select.addEventListener("change", function () { form.submit(); });
      });
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    var trend = document.getElementById("trend");
    if (!trend || typeof Chart === "undefined") { return; }
    fetch(trend.getAttribute("data-src"), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (data) {
        drawTrend(trend, data.trend);
        var dist = document.getElementById("distribution");
        if (dist) { drawDistribution(dist, data.distribution); }
        return loadBusiness();
      })
      .then(function () {
        document.body.setAttribute("data-charts", "ready");
      })
      .catch(function () { document.body.setAttribute("data-charts", "failed"); });
  });
}());

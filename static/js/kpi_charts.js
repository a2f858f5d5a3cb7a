/* KPI charts: samples around a deployment, with baseline/threshold lines and deployment markers.
 * Data comes from a json_script element (id in each canvas's data-chart-source); no inline JS. */
(function () {
  "use strict";
  var COLORS = ["#0d6efd", "#198754", "#6f42c1", "#fd7e14"];
  var LINE_COLORS = { Baseline: "#6c757d", default: "#dc3545" };

  function t(iso) { return new Date(iso).getTime(); }

  function fmtTime(ms) {
    var d = new Date(ms);
    var pad = function (n) { return String(n).padStart(2, "0"); };
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + " UTC";
  }

  function bounds(chart) {
    var xs = [], ys = [];
    chart.series.forEach(function (s) { s.points.forEach(function (p) { xs.push(t(p.x)); ys.push(p.y); }); });
    chart.lines.forEach(function (l) { ys.push(l.value); });
    chart.markers.forEach(function (m) { xs.push(t(m.at)); });
    if (chart.start) { xs.push(t(chart.start)); }
    if (chart.end) { xs.push(t(chart.end)); }
    var minY = Math.min.apply(null, ys.length ? ys : [0]);
    var maxY = Math.max.apply(null, ys.length ? ys : [1]);
    if (minY === maxY) { minY -= 1; maxY += 1; }
    return {
      minX: Math.min.apply(null, xs.length ? xs : [Date.now()]),
      maxX: Math.max.apply(null, xs.length ? xs : [Date.now()]),
      minY: minY, maxY: maxY
    };
  }

  function datasets(chart) {
    var b = bounds(chart);
    var out = [];
    chart.series.forEach(function (s, i) {
      out.push({
        label: s.label, data: s.points.map(function (p) { return { x: t(p.x), y: p.y }; }),
        borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length],
        pointRadius: 1.5, borderWidth: 1.5, tension: 0.1
      });
    });
    chart.lines.forEach(function (l) {
      var color = l.label.indexOf("Baseline") === 0 ? LINE_COLORS.Baseline : LINE_COLORS.default;
      out.push({
        label: l.label, data: [{ x: b.minX, y: l.value }, { x: b.maxX, y: l.value }],
        borderColor: color, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0
      });
    });
    chart.markers.forEach(function (m, i) {
      var x = t(m.at);
      out.push({
        label: m.label, data: [{ x: x, y: b.minY }, { x: x, y: b.maxY }],
        borderColor: i === 0 ? "#adb5bd" : "#212529", borderWidth: 1.5, pointRadius: 0,
        borderDash: i === 0 ? [2, 2] : []
      });
    });
    return out;
  }

  function draw(canvas, chart) {
    if (canvas.dataset.drawn || typeof window.Chart === "undefined") { return; }
    canvas.dataset.drawn = "1";
    var b = bounds(chart);
    new window.Chart(canvas, {
      type: "line",
      data: { datasets: datasets(chart) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false, parsing: false,
        interaction: { mode: "nearest", intersect: false },
        scales: {
          x: {
            type: "linear", min: b.minX, max: b.maxX,
            ticks: { maxTicksLimit: 6, callback: function (v) { return fmtTime(v).slice(5, 16); } }
          },
          y: { title: { display: true, text: chart.unit } }
        },
        plugins: {
          legend: { labels: { boxWidth: 12, font: { size: 11 } } },
          tooltip: { callbacks: { title: function (items) { return items.length ? fmtTime(items[0].parsed.x) : ""; } } }
        }
      }
    });
  }

  function init(root) {
    (root || document).querySelectorAll("canvas[data-kpi-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chartSource);
      if (!source) { return; }
      var charts = JSON.parse(source.textContent);
      var chart = charts.find(function (c) { return c.id === canvas.dataset.kpiChart; });
      if (chart) { draw(canvas, chart); }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(); });
  } else {
    init();
  }
  document.addEventListener("htmx:afterSwap", function (e) { init(e.target); });
})();

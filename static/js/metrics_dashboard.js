/* Metrics page charts (data from the json_script "metrics-chart-data"; no inline JS). */
(function () {
  "use strict";
  var GREEN = "#198754", RED = "#dc3545", AMBER = "#fd7e14", BLUE = "#0d6efd", PURPLE = "#6f42c1";

  function chart(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    config.options = Object.assign(
      { responsive: true, maintainAspectRatio: false, animation: false }, config.options || {}
    );
    new Chart(canvas, config);
  }

  function draw() {
    var source = document.getElementById("metrics-chart-data");
    if (!source || typeof Chart === "undefined") { return; }
    var d = JSON.parse(source.textContent);
    chart("chart-deployments", {
      type: "bar",
      data: {
        labels: d.labels,
        datasets: [
          { label: "Succeeded", data: d.succeeded, backgroundColor: GREEN },
          { label: "Failed", data: d.failed, backgroundColor: RED },
          { label: "Rolled back", data: d.rolled_back, backgroundColor: AMBER }
        ]
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } }
    });
    chart("chart-cfr", {
      type: "line",
      data: { labels: d.labels, datasets: [{ label: "Change failure rate %", data: d.cfr, borderColor: RED, backgroundColor: RED, spanGaps: true, tension: 0.2 }] },
      options: { scales: { y: { min: 0, max: 100 } } }
    });
    chart("chart-incidents", {
      type: "bar",
      data: { labels: d.labels, datasets: [{ label: "Incidents", data: d.incidents, backgroundColor: PURPLE }] },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
    chart("chart-scatter", {
      type: "scatter",
      data: { datasets: [{ label: "Team-week", data: d.points, backgroundColor: BLUE }] },
      options: {
        scales: {
          x: { beginAtZero: true, title: { display: true, text: "deployments" }, ticks: { precision: 0 } },
          y: { beginAtZero: true, title: { display: true, text: "incidents" }, ticks: { precision: 0 } }
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { label: function (ctx) {
            var p = ctx.raw; return p.team + " week of " + p.week + ": " + p.x + " deployments, " + p.y + " incidents";
          } } }
        }
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
})();

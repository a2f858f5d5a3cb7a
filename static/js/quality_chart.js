/* Quality score trend: average score per week or month (data from a json_script; no inline JS). */
(function () {
  "use strict";
  function draw() {
    var canvas = document.getElementById("quality-chart");
    var source = document.getElementById("quality-chart-data");
    if (!canvas || !source || typeof Chart === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    new Chart(canvas, {
      type: "line",
      data: {
        labels: data.labels,
        datasets: [{
          label: "Average quality score", data: data.values, borderColor: "#0d6efd",
          backgroundColor: "#0d6efd", tension: 0.2, pointRadius: 4
        }]
      },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: "score" } } },
        plugins: {
          tooltip: {
            callbacks: {
              afterLabel: function (ctx) { return data.counts[ctx.dataIndex] + " release(s)"; }
            }
          }
        }
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else { draw(); }
})();

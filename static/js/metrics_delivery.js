/* Delivery performance trend charts (data from the json_script "delivery-chart-data"). */
(function () {
  "use strict";
  function chart(id, labels, label, data, color, type) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: type || "line",
      data: { labels: labels, datasets: [{ label: label, data: data, borderColor: color, backgroundColor: color, spanGaps: true }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } }
    });
  }
  function draw() {
    var source = document.getElementById("delivery-chart-data");
    if (!source || typeof Chart === "undefined") { return; }
    var d = JSON.parse(source.textContent);
    chart("chart-frequency", d.labels, "Successful deployments / week", d.frequency, "#198754", "bar");
    chart("chart-lead-time", d.labels, "Lead time median (h)", d.lead_time, "#0d6efd");
    chart("chart-cfr", d.labels, "Change failure rate (%)", d.cfr, "#dc3545");
    chart("chart-restore", d.labels, "Time to restore median (h)", d.restore, "#fd7e14");
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();

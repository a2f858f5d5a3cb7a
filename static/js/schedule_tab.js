// After a booking, need or dependency is posted from the release's Schedule panel the page
// reopens on the Schedule tab. A file, not an inline script: the Content-Security-Policy.
document.addEventListener("DOMContentLoaded", function () {
  if (location.hash !== "#schedule" && new URLSearchParams(location.search).get("tab") !== "schedule") return;
  var button = document.querySelector("[data-bs-target='#schedule-pane']");
  if (button && window.bootstrap) bootstrap.Tab.getOrCreateInstance(button).show();
});

// Behaviour that used to sit in inline event handlers, which the Content-Security-Policy
// forbids (releasemgr.security). Delegated from the document, so htmx-swapped content works.
(function () {
  "use strict";
  // <select data-autosubmit>: submit its form when the choice changes.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) el.form.submit();
  });
  // <form data-confirm="Question?">: ask before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // <input data-select-on-focus>: select the whole value (e.g. a key shown once).
  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-select-on-focus]") && el.select) el.select();
  });
})();

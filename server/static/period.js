// The period picker applies a choice at once: a preset when picked, a custom range when both
// dates are valid; so does the touchpoint selector. Without this script the form's Apply button does the same.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.period"), function (form) {
      var preset = form.elements.period, from = form.elements.from, to = form.elements.to;
      function submitDates() {
        preset.value = "custom";
        if (from.value && to.value && from.value <= to.value) { form.submit(); }
      }
      preset.addEventListener("change", function () {
        if (preset.value !== "custom") { form.submit(); } else { from.focus(); }
      });
      from.addEventListener("change", submitDates);
      to.addEventListener("change", submitDates);
      // The touchpoint (or kind, status, "assigned to me") filter beside the period applies at
      // once as well.
      Array.prototype.forEach.call(form.querySelectorAll(".narrow"), function (select) {
        select.addEventListener("change", function () { form.submit(); });
      });
    });
  });
}());

// Survey editor: switch the preview's language, and let preview texts follow what is typed.
// Everything else (add, remove, move, save) is plain form posts and works without this file.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("survey-form");
    var pick = document.getElementById("preview-language");
    if (!form || !pick) { return; }

    function showLanguage() {
      var option = pick.options[pick.selectedIndex];
      var index = option ? option.getAttribute("data-index") : "0";
      document.querySelectorAll("[data-preview-index]").forEach(function (screen) {
        screen.hidden = screen.getAttribute("data-preview-index") !== index;
      });
    }

    function followText(event) {
      var field = event.target;
      if (!field.name || !/^[\w-]+$/.test(field.name)) { return; }
      document.querySelectorAll('[data-from="' + field.name + '"]').forEach(function (shown) {
        shown.textContent = field.value.trim() ? field.value : shown.getAttribute("data-empty");
      });
    }

    pick.addEventListener("change", showLanguage);
    form.addEventListener("input", followText);
    document.body.setAttribute("data-editor", "ready");
  });
}());

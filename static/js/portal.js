// The portal's only script: copy buttons, closing menus, upload sizes. No inline scripts (CSP).
(function () {
  "use strict";

  function say(statusId, message) {
    var status = statusId && document.getElementById(statusId);
    if (!status) return;
    status.textContent = message;
    window.clearTimeout(status._clear);
    status._clear = window.setTimeout(function () { status.textContent = ""; }, 4000);
  }

  function selectAll(source) {
    source.focus();
    if (typeof source.select === "function") {
      source.select();
      return;
    }
    var range = document.createRange();
    range.selectNodeContents(source);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function fallbackCopy(source, statusId) {
    // Without the clipboard API (plain-HTTP origins, older browsers) select the
    // text so a keyboard shortcut copies it, and say so.
    selectAll(source);
    var copied = false;
    try { copied = document.execCommand("copy"); } catch (e) { copied = false; }
    say(statusId, copied ? "Copied" : "Selected: press Ctrl+C (or \u2318C) to copy");
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    var statusId = button.getAttribute("data-copy-status");
    var text = "value" in source ? source.value : source.textContent;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () { say(statusId, "Copied"); },
        function () { fallbackCopy(source, statusId); }
      );
    } else {
      fallbackCopy(source, statusId);
    }
  });

  // Menus are <details>: Escape closes the open one; a click elsewhere too.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details.menu[open]");
    if (open) {
      open.removeAttribute("open");
      open.querySelector("summary").focus();
    }
  });
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  // A file over its field's data-max-bytes is refused before it is sent: the server refuses it
  // too (413, with the same words), but a browser may show a reset connection instead of that
  // answer when the server stops reading a large upload.
  document.addEventListener("submit", function (event) {
    var inputs = event.target.querySelectorAll("input[type=file][data-max-bytes]");
    inputs.forEach(function (input) {
      var file = input.files && input.files[0];
      var limit = Number(input.getAttribute("data-max-bytes"));
      if (!file || file.size <= limit) return;
      event.preventDefault();
      var error = document.getElementById(input.id + "-error");
      var size = (file.size / 1048576).toFixed(1);
      var most = Math.round(limit / 1048576);
      if (error) error.textContent = "The file is " + size + " MB; files of up to " + most +
        " MB are accepted. Split it and import each part.";
      input.setAttribute("aria-invalid", "true");
      input.focus();
    });
  });
  // A menu item that swaps content with htmx closes its menu. Focus moves to the menu's
  // button first: htmx puts it back on the element with the same id after a row swap.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var menu = event.target.closest && event.target.closest("details.menu");
    if (!menu) return;
    if (menu.contains(document.activeElement)) menu.querySelector("summary").focus();
    menu.removeAttribute("open");
  });
})();

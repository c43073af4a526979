/* aftercare's page behaviour on every page. A static file: the Content-Security-Policy forbids inline scripts and
   inline event handlers (onchange=, hx-on…), and htmx runs with allowEval off. */
(function () {
  "use strict";

  // <select data-autosubmit>: sends its form as soon as the choice changes (store switcher, settings' store).
  document.addEventListener("change", function (e) {
    var el = e.target;
    if (el.matches && el.matches("[data-autosubmit]") && el.form) {
      el.form.submit();
    }
  });

  // [data-width="37"]: a width in % set through the CSSOM (a style="" attribute would need 'unsafe-inline').
  function applyWidths(root) {
    var els = Array.prototype.slice.call(root.querySelectorAll ? root.querySelectorAll("[data-width]") : []);
    if (root.matches && root.matches("[data-width]")) {
      els.push(root);
    }
    els.forEach(function (el) {
      el.style.width = Math.max(0, Math.min(100, parseFloat(el.dataset.width) || 0)) + "%";
    });
  }
  document.addEventListener("DOMContentLoaded", function () { applyWidths(document); });
  document.addEventListener("htmx:load", function (e) { applyWidths(e.target); });

  // <ul data-active-group> of .nav-link elements that load a panel with htmx: the clicked one becomes active.
  document.addEventListener("htmx:afterRequest", function (e) {
    var el = e.detail && e.detail.elt;
    var group = el && el.closest && el.closest("[data-active-group]");
    if (!group || !el.matches(".nav-link")) {
      return;
    }
    group.querySelectorAll(".nav-link").forEach(function (a) {
      a.classList.toggle("active", a === el);
    });
  });
})();

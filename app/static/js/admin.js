// The console's only script (CSP: script-src 'self'). Every page works without it.
// - Dashboard: fetches the figures section every few seconds and swaps it in; a button pauses
//   and resumes this (WCAG 2.2.2); a polite live region speaks only when the figures changed.
// - Branding: as colours or names are typed, fetches the preview pane for them.
"use strict";

(function () {
  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (response) {
        // A redirect means the session ended (the sign-in page): not a fragment.
        if (!response.ok || response.redirected) { throw new Error(String(response.status)); }
        return response.text();
      });
  }

  function firstElement(html) {
    return new DOMParser().parseFromString(html, "text/html").body.firstElementChild;
  }

  function liveDashboard(container) {
    var seconds = Number(container.dataset.refreshSeconds) || 10;
    var toggle = document.querySelector("[data-refresh-toggle]");
    var status = document.querySelector("[data-refresh-status]");
    var time = document.querySelector("[data-refresh-time]");
    var timer = null;
    var failed = false;

    function say(text) { status.textContent = text; }

    function refresh() {
      fetchHtml(container.dataset.refreshUrl).then(function (html) {
        var fresh = firstElement(html);
        var current = container.firstElementChild;
        if (!fresh) { return; }
        if (time) { time.textContent = fresh.dataset.updated; }
        if (!current || current.innerHTML !== fresh.innerHTML) {
          // Keep open "numbers by day" tables open across the swap.
          var open = Array.prototype.map.call(container.querySelectorAll("details[open]"),
            function (details) { return details.closest("[aria-labelledby]").getAttribute("aria-labelledby"); });
          container.replaceChildren(fresh);
          open.forEach(function (id) {
            var owner = container.querySelector('[aria-labelledby="' + id + '"] details');
            if (owner) { owner.open = true; }
          });
          if (current) { say(status.dataset.changedText); }
        }
        failed = false;
      }).catch(function () {
        if (!failed) { say(status.dataset.failedText); }
        failed = true;
      });
    }

    function start() { timer = window.setInterval(refresh, seconds * 1000); }
    function stop() { window.clearInterval(timer); timer = null; }

    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      if (timer) {
        stop();
        toggle.textContent = toggle.dataset.resumeLabel;
        say(status.dataset.pausedText);
      } else {
        start();
        refresh();
        toggle.textContent = toggle.dataset.pauseLabel;
        say("");
      }
    });
    start();
  }

  function livePreview(form) {
    var pane = document.querySelector("[data-preview-pane]");
    var inputs = form.querySelectorAll("[data-preview-input], [name=tagline], [name=tagline_zh]");
    var pending = null;

    function update() {
      var query = new URLSearchParams();
      inputs.forEach(function (input) { query.set(input.name, input.value); });
      fetchHtml(form.dataset.previewUrl + "?" + query.toString()).then(function (html) {
        var fresh = firstElement(html);
        if (fresh) { pane.replaceChildren(fresh); }
      }).catch(function () { /* the Preview button still works */ });
    }

    inputs.forEach(function (input) {
      input.addEventListener("input", function () {
        window.clearTimeout(pending);
        pending = window.setTimeout(update, 300);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var dashboard = document.getElementById("dashboard-figures");
    if (dashboard) { liveDashboard(dashboard); }
    var branding = document.querySelector("form[data-preview-url]");
    if (branding) { livePreview(branding); }
  });
})();

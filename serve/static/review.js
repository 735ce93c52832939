/* FeedGuard review: keyboard shortcuts over plain server-rendered forms.
 *
 * Every shortcut presses a real button or follows a real link, so the page works the same
 * without JavaScript (just slower). Shortcuts are ignored while typing in a field; Esc leaves it.
 */
(function () {
  "use strict";

  var DECEPTION = ["recruitment", "fake_proof"];
  var body = document.body;
  var form = document.getElementById("decision-form");
  var help = document.getElementById("help");
  var actionSelect = document.getElementById("action");
  var actionTouched = false;
  var pendingG = false;
  var submitting = false;

  function typing(target) {
    if (!target) return false;
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  function go(url) {
    if (url) window.location.assign(url);
  }

  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }

  function verdictRows() {
    return form ? Array.prototype.slice.call(form.querySelectorAll(".verdict")) : [];
  }

  function confirmedLabels() {
    return verdictRows()
      .filter(function (row) {
        var input = row.querySelector('input[value="confirm"]');
        return input && input.checked;
      })
      .map(function (row) { return row.getAttribute("data-label"); });
  }

  function suggestAction() {
    if (!actionSelect || actionTouched) return;
    var confirmed = confirmedLabels();
    var hide = confirmed.some(function (label) { return DECEPTION.indexOf(label) >= 0; });
    actionSelect.value = hide ? "hide" : confirmed.length ? "label_seller" : "clear";
  }

  function toggleVerdict(index) {
    var row = verdictRows()[index];
    if (!row) return;
    var confirm = row.querySelector('input[value="confirm"]');
    var clear = row.querySelector('input[value="clear"]');
    if (confirm.disabled) return;
    if (confirm.checked) clear.checked = true; else confirm.checked = true;
    suggestAction();
  }

  function press(id) {
    var button = document.getElementById(id);
    if (!button || button.disabled || submitting) return false;
    if (form && button.form === form && typeof form.requestSubmit === "function") {
      form.requestSubmit(button);
    } else {
      button.click();
    }
    return true;
  }

  function flash(message) {
    var old = document.getElementById("js-flash");
    if (old) old.remove();
    var div = document.createElement("div");
    div.id = "js-flash";
    div.className = "banner banner-warn";
    div.setAttribute("role", "alert");
    div.textContent = message;
    var main = document.querySelector("main");
    if (main) main.insertBefore(div, main.firstChild);
  }

  if (actionSelect) {
    actionSelect.addEventListener("change", function () { actionTouched = true; });
  }
  verdictRows().forEach(function (row) {
    row.addEventListener("change", suggestAction);
  });
  if (form) {
    form.addEventListener("submit", function (event) {
      var intent = event.submitter ? event.submitter.value : "decide";
      if ((intent === "decide" || intent === "cluster") && confirmedLabels().length === 0) {
        event.preventDefault();
        flash("No label is confirmed: pick one with 1, 2 or 3, or clear the post with x.");
        return;
      }
      submitting = true;
      Array.prototype.forEach.call(form.querySelectorAll("button[type=submit]"), function (b) {
        // Disable after the browser has read the pressed button's name/value.
        window.setTimeout(function () { b.disabled = true; }, 0);
      });
    });
  }

  document.querySelectorAll("[data-help-open]").forEach(function (b) {
    b.addEventListener("click", function () { toggleHelp(true); });
  });
  document.querySelectorAll("[data-help-close]").forEach(function (b) {
    b.addEventListener("click", function () { toggleHelp(false); });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (key === "Escape") {
      if (help && !help.hidden) { toggleHelp(false); event.preventDefault(); return; }
      if (typing(event.target)) { event.target.blur(); event.preventDefault(); }
      return;
    }
    if (typing(event.target)) return;
    if (help && !help.hidden && key !== "?") return;

    if (pendingG) {
      pendingG = false;
      if (key === "q") { go("/review"); event.preventDefault(); return; }
      if (key === "s") { go("/review/stats"); event.preventDefault(); return; }
    }
    var handled = true;
    switch (key) {
      case "?": toggleHelp(); break;
      case "g": pendingG = true; break;
      case "j": go(body.getAttribute("data-next")); break;
      case "k": go(body.getAttribute("data-prev")); break;
      case "1": case "2": case "3": toggleVerdict(Number(key) - 1); break;
      case "c": press("btn-confirm"); break;
      case "C": press("btn-cluster"); break;
      case "x": press("btn-clear"); break;
      case "e": press("btn-escalate"); break;
      case "u": press("undo"); break;
      case "n": {
        var note = document.getElementById("note");
        if (note && !note.disabled) note.focus(); else handled = false;
        break;
      }
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });
})();

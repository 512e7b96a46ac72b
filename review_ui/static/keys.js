// Keyboard review for the account queue: j/k move, a approve, e edit, r reject, x select,
// ? help, Esc close. Hand-written, no build step; htmx swaps cards in place, so the current
// card is tracked by id and found again after every swap.
(function () {
  "use strict";
  let currentId = null;

  function cards() { return Array.from(document.querySelectorAll("#queue article.item")); }
  function current() { return currentId ? document.getElementById("item-" + currentId) : null; }

  function mark(card) {
    document.querySelectorAll("article.item.current").forEach((c) => c.classList.remove("current"));
    if (!card) { currentId = null; return; }
    currentId = card.dataset.itemId;
    card.classList.add("current");
    card.focus({ preventScroll: true });
    card.scrollIntoView({ block: "nearest", behavior: "instant" });
  }

  function move(step) {
    const list = cards();
    if (!list.length) return;
    const at = list.indexOf(current());
    const next = at < 0 ? 0 : Math.min(list.length - 1, Math.max(0, at + step));
    mark(list[next]);
  }

  function openForm(kind) {
    const card = current();
    if (!card) return;
    const details = card.querySelector("details." + kind);
    if (!details) return;
    details.open = true;
    const field = details.querySelector(kind === "edit" ? "textarea" : "select");
    if (field) { field.focus(); if (field.select) field.select(); }
  }

  function help() {
    const dialog = document.getElementById("keys-help");
    if (!dialog) return;
    if (dialog.open) dialog.close(); else dialog.showModal();
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
    if (event.key === "Escape") {
      const card = current();
      if (card) card.querySelectorAll("details[open]").forEach((d) => { d.open = false; });
      if (card) card.focus({ preventScroll: true });
      return;
    }
    if (typing && event.key === "Enter" && (event.ctrlKey || event.metaKey) && target.form) {
      event.preventDefault();
      target.form.requestSubmit();  // Ctrl+Enter saves an edit without reaching for the mouse
      return;
    }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const card = current();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "a": if (card) { const b = card.querySelector("button[data-action=approve]"); if (b && !b.disabled) b.click(); } break;
      case "e": openForm("edit"); break;
      case "r": openForm("reject"); break;
      case "x": if (card) { const box = card.querySelector("input.select"); if (box) box.checked = !box.checked; } break;
      case "?": help(); break;
      default: return;
    }
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    if (event.target && event.target.id === "select-all") {
      document.querySelectorAll("#queue input.select").forEach((box) => { box.checked = event.target.checked; });
    }
  });

  // After a decision the card comes back decided: keep it marked, then move on to the next
  // card still waiting, so a reviewer can triage with a, e, r alone.
  document.addEventListener("htmx:afterSwap", function (event) {
    const card = current();
    if (!card) { if (document.querySelector("#queue")) mark(cards()[0] || null); return; }
    const decided = !card.querySelector("button[data-action=approve]") && !card.classList.contains("conflict");
    const failed = card.querySelector(".alert");
    if (decided && !failed) {
      const list = cards();
      const next = list.slice(list.indexOf(card) + 1).find((c) => c.querySelector("button[data-action=approve]"));
      mark(next || card);
    } else {
      mark(card);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    const first = cards()[0];
    if (first) mark(first);
  });

  // No inline handlers: the Content-Security-Policy allows scripts from files only.
  document.addEventListener("click", function (event) {
    if (event.target.closest && event.target.closest("[data-keys-help]")) help();
  });

  window.clerkKeys = { help: help, move: move };
})();

// A select marked data-submit-on-change submits its form when changed (the period selector).
// Set here, not inline: the Content-Security-Policy allows scripts from files only.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.hasAttribute("data-submit-on-change")) {
    select.form && select.form.submit();
  }
});

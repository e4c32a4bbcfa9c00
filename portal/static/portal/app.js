// Small progressive enhancements; every page works without this file.

// A <select> marked data-enter-submits sends its form on Enter only: arrow keys move through
// the options (Chrome changes the value on ArrowDown in a closed select) without leaving the page.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (
    event.key === "Enter" &&
    target instanceof HTMLSelectElement &&
    target.hasAttribute("data-enter-submits") &&
    target.form
  ) {
    event.preventDefault();
    target.form.requestSubmit();
  }
});

// After htmx swaps a region, a keyboard user would start again from <body> when the control
// they used went away with the old content. Focus then goes to the control of the same
// data-focus-key in the new content (Previous/Next keep their place), else to the element marked
// data-focus-after-swap (the chosen day's heading, one Tab before its times), else to the region
// itself; and a polite live region reads what came in.
let swapped = null;

document.addEventListener("htmx:beforeSwap", (event) => {
  const trigger = event.detail.requestConfig && event.detail.requestConfig.elt;
  swapped = {
    id: event.detail.target && event.detail.target.id,
    key: trigger && trigger.closest ? keyOf(trigger) : null,
  };
});

function keyOf(element) {
  const keyed = element.closest("[data-focus-key]");
  return keyed ? keyed.getAttribute("data-focus-key") : null;
}

document.addEventListener("htmx:afterSettle", () => {
  const info = swapped;
  swapped = null;
  if (!info || !info.id) return;
  const region = document.getElementById(info.id);
  if (!region) return;
  const active = document.activeElement;
  const lost = !active || active === document.body || !active.isConnected;
  if (lost) {
    const byKey = info.key
      ? region.querySelector(`[data-focus-key="${CSS.escape(info.key)}"]`)
      : null;
    const goal = byKey || region.querySelector("[data-focus-after-swap]") || region;
    if (!goal.matches("a[href], button, input, select, textarea, [tabindex]")) {
      goal.setAttribute("tabindex", "-1");
    }
    goal.focus();
  }
  announce(region);
});

function announce(region) {
  const live = document.getElementById("live-region");
  if (!live) return;
  const source =
    region.closest("[data-announce]") ||
    region.querySelector("[data-announce]") ||
    region.querySelector("[data-focus-after-swap]") ||
    region.querySelector("h1, h2, h3, [role=status]");
  const words = source
    ? (source.getAttribute("data-announce") || source.textContent).trim().replace(/\s+/g, " ")
    : "";
  // Emptied first, so that the same words said twice in a row are read twice.
  live.textContent = "";
  if (words) window.setTimeout(() => { live.textContent = words; }, 50);
}

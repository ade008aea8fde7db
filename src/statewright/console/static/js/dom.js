// Small DOM helpers shared by the console's pages: element building and formatting.

/**
 * An element: `h("a", {href: "/x", class: "y", onclick: fn, dataset: {k: "v"}}, "text", child)`.
 * Attributes `null`/`false` are left out; children may be strings, nodes, arrays or null.
 * `style` is an object of CSSOM properties (`{flexGrow: "3"}`), set one by one: the pages'
 * Content-Security-Policy refuses a style attribute, so a string is an error.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "style") {
      if (typeof value !== "object") {
        throw new TypeError(`h("${tag}"): style must be an object such as {flexGrow: "3"}, not ${JSON.stringify(value)}: the console's Content-Security-Policy refuses style attributes`);
      }
      Object.assign(element.style, value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : String(child));
  }
}

/**
 * Make `nodes` the children of `parent`, in that order. A node already there is moved only if
 * it is out of place, and one that stays is never detached: updates that keep the nodes they
 * show keep the keyboard focus on them (a moved node that had it gets it back).
 */
export function arrange(parent, nodes) {
  const focused = document.activeElement;
  const kept = new Set(nodes);
  for (const child of [...parent.childNodes]) if (!kept.has(child)) child.remove();
  let cursor = parent.firstChild;
  for (const node of nodes) {
    if (node === cursor) cursor = cursor.nextSibling;
    else parent.insertBefore(node, cursor);
  }
  if (focused && focused !== document.activeElement && focused.isConnected && parent.contains(focused)) {
    focused.focus({ preventScroll: true });
  }
  return parent;
}

/** What tells a control apart among the ones a page makes again: its link target, else its
 * test id, else its tag, role and text. */
function controlKey(node) {
  const href = node.getAttribute("href");
  if (href !== null) return `a ${href}`;
  if (node.dataset.testid) return `id ${node.dataset.testid}`;
  return `${node.tagName} ${node.getAttribute("role") || ""} ${node.textContent.trim()}`;
}

/**
 * Replace `element`'s children, as `replace` does, and give the keyboard focus back to the
 * new twin of the control that had it (same link target or test id): pages that draw their
 * content anew on each live update keep the focus where the person left it, instead of
 * sending it back to the top of the page.
 */
export function replaceKeepingFocus(element, ...children) {
  const focused = document.activeElement;
  const key = focused && focused !== element && element.contains(focused) ? controlKey(focused) : null;
  replace(element, ...children);
  if (key === null || element.contains(document.activeElement)) return element;
  const twin = [...element.querySelectorAll("a[href], button, input, select, textarea, [tabindex]")]
    .find((node) => controlKey(node) === key);
  twin?.focus({ preventScroll: true });
  return element;
}

/** Replace an element's children. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

function dateOf(value) {
  return typeof value === "number" ? new Date(value) : new Date(String(value));
}

/** A time (ISO text or Unix ms) as local "2026-12-05 14:03:07". */
export function fmtTime(iso) {
  if (iso === null || iso === undefined) return "";
  const d = dateOf(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Seconds as "45s", "3m 20s", "2h 5m", "3d 4h". */
export function fmtDuration(seconds) {
  let s = Math.max(0, Math.round(Number(seconds) || 0));
  if (s < 60) return `${s}s`;
  const units = [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]];
  const parts = [];
  for (const [unit, size] of units) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

/** A time (ISO text or Unix ms) relative to now: "5m ago", "in 2h". */
export function since(iso) {
  if (iso === null || iso === undefined) return "";
  const ms = dateOf(iso).getTime() - Date.now();
  if (Number.isNaN(ms)) return "";
  if (Math.abs(ms) < 1000) return "now";
  return ms < 0 ? `${fmtDuration(-ms / 1000)} ago` : `in ${fmtDuration(ms / 1000)}`;
}

/** A box showing why the server refused or failed an action (an ApiError or any error). */
export function problemBox(error) {
  const problem = (error && error.problem) || {};
  const title = problem.title || (error && error.name) || "Failed";
  const detail = problem.detail || (error && error.message) || String(error);
  return h(
    "div",
    { class: "sw-problem", role: "alert", "data-testid": "problem" },
    h("strong", {}, title),
    problem.status ? h("span", { class: "sw-muted" }, ` (${problem.status})`) : null,
    h("div", {}, detail),
  );
}

/** A coloured pill for a status (`running`, `retrying`, `error`, `done`, `stopped`, ...). */
export function pill(status, attrs = {}) {
  return h("span", { class: `sw-pill sw-pill-${String(status).replace(/[^a-z_-]/gi, "")}`, ...attrs }, status);
}

/**
 * Escape, wherever the focus is, closes the confirmation `box` while it is shown: `close()`
 * hides it, and the focus goes back to `opener`, the button that asked for it (as the
 * instance page's action forms do).
 */
export function closeConfirmOnEscape(box, close, opener) {
  document.addEventListener("keydown", (pressed) => {
    if (pressed.key !== "Escape" || box.hidden) return;
    pressed.preventDefault();
    close();
    opener.focus();
  });
}

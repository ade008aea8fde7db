// Small view helpers of the instance and definitions pages, over dom.js: times given in
// milliseconds since the epoch (as the API gives them), countdowns, panels, and ids for
// Idempotency-Key headers.

import { fmtDuration, fmtTime, h, replace, since } from "./dom.js";

/** An element (dom.js's `h`: children nested in arrays, null ones left out). */
export const el = h;

/** A time in ms since the epoch, as dom.js formats times. */
export function msTime(ms) {
  return ms === null || ms === undefined ? "—" : fmtTime(ms);
}

/** A time in ms since the epoch, relative to now ("3 min ago"). */
export function msSince(ms) {
  return ms === null || ms === undefined ? "—" : since(ms);
}

/** A span of milliseconds, as dom.js formats durations. */
export function msDuration(ms) {
  return fmtDuration(Math.max(0, Math.round(ms / 1000)));
}

/** A countdown to `ms`: "in 4 min 10 s", or `due` once it has passed. */
export function countdown(ms, due = "due now") {
  const left = ms - Date.now();
  return left <= 0 ? due : `in ${fmtDuration(Math.ceil(left / 1000))}`;
}

/** A fresh random id (an Idempotency-Key: the same action sent twice is made once). */
export function newKey() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A panel as base.css draws them: a head with its title (and a count), then a body. */
export function panel(attrs, title, count, ...body) {
  return el(
    "section",
    { ...attrs, class: `sw-panel ${attrs.class || ""}`.trim() },
    el("div", { class: "sw-panel-head" }, el("h2", {}, title), count === null || count === undefined ? null : el("span", { class: "sw-count" }, String(count))),
    el("div", { class: "sw-panel-body" }, body),
  );
}

/** A compact panel: a small label over its content (no head row). */
export function tile(attrs, label, ...body) {
  return el(
    "section",
    { ...attrs, class: `sw-panel tile ${attrs.class || ""}`.trim() },
    el("div", { class: "sw-label" }, label),
    body,
  );
}

/** A tag of a state, as a neutral pill. */
export function tagPill(tag) {
  return el("span", { class: "sw-pill sw-pill-neutral tag" }, tag);
}

/** Empty `node` and put `children` in it. */
export function fill(node, ...children) {
  return replace(node, ...children);
}

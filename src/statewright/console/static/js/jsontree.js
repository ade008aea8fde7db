// JSON as a readable, collapsible tree: objects and arrays are <details> (open to `depth`),
// with their size in the summary; scalars coloured by type.

import { el } from "./ui.js";

function scalar(value) {
  if (value === null) return el("span", { class: "j-null" }, "null");
  if (typeof value === "string") return el("span", { class: "j-str" }, JSON.stringify(value));
  if (typeof value === "number") return el("span", { class: "j-num" }, String(value));
  if (typeof value === "boolean") return el("span", { class: "j-bool" }, String(value));
  return el("span", {}, String(value));
}

function summary(value) {
  if (Array.isArray(value)) return `[${value.length}]`;
  const n = Object.keys(value).length;
  return `{${n} ${n === 1 ? "field" : "fields"}}`;
}

function node(key, value, level, openTo) {
  const label = key === null ? null : el("span", { class: "j-key" }, key);
  if (value === null || typeof value !== "object") {
    return el("div", { class: "j-row" }, label, label ? ": " : null, scalar(value));
  }
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
  if (entries.length === 0) {
    return el("div", { class: "j-row" }, label, label ? ": " : null, el("span", { class: "j-empty" }, Array.isArray(value) ? "[]" : "{}"));
  }
  const details = el(
    "details",
    { class: "j-node" },
    el("summary", {}, label, label ? " " : null, el("span", { class: "j-size" }, summary(value))),
    el("div", { class: "j-children" }, entries.map(([k, v]) => node(k, v, level + 1, openTo))),
  );
  details.open = level < openTo;
  return details;
}

/** A tree of `value`, open down to `openTo` levels. */
export function jsonTree(value, openTo = 2) {
  return el("div", { class: "json-tree" }, node(null, value, 0, openTo));
}

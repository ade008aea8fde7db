// The events a definition accepts, read from its config: per event type, the states that
// take it, where it leads, its guards and roles, and the JSON Schema it declares for its
// fields (statewright.events), summarised and in full.

import { jsonTree } from "./jsontree.js";
import { el } from "./ui.js";

function transitionsOf(spec) {
  if (spec === null || spec === undefined) return [{}];
  if (typeof spec === "string") return [{ target: spec }];
  return Array.isArray(spec) ? spec.map((t) => (typeof t === "string" ? { target: t } : t || {})) : [spec];
}

function targetsOf(transition) {
  const t = transition.target;
  if (t === undefined || t === null) return [];
  return (Array.isArray(t) ? t : [t]).map(String);
}

/** Every event type the definition's states take in `on`, in document order. */
export function definitionEvents(config) {
  const events = new Map();
  const visit = (states, prefix) => {
    for (const [key, state] of Object.entries(states || {})) {
      const path = prefix + key;
      for (const [type, spec] of Object.entries(state?.on || {})) {
        const entry = events.get(type) || { type, states: [], targets: new Set(), guarded: false, roles: new Set(), open: false };
        entry.states.push(path);
        for (const t of transitionsOf(spec)) {
          for (const target of targetsOf(t)) entry.targets.add(target.replace(/^[.#]/, ""));
          if (t.guard) entry.guarded = true;
          const roles = t.statewright?.roles;
          if (Array.isArray(roles)) roles.forEach((r) => entry.roles.add(r));
          else entry.open = true;
        }
        events.set(type, entry);
      }
      visit(state?.states, path + ".");
    }
  };
  visit(config.states, "");
  return [...events.values()];
}

function typeText(schema) {
  if (!schema || typeof schema !== "object") return "any";
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
  let text = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type || (schema.$ref ? schema.$ref.split("/").pop() : "any");
  const bounds = [];
  if (schema.minimum !== undefined) bounds.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined) bounds.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) bounds.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) bounds.push(`length ≤ ${schema.maxLength}`);
  if (schema.format) bounds.push(schema.format);
  if (bounds.length) text += ` (${bounds.join(", ")})`;
  return text;
}

/** A schema's fields in one line each: "amount: number (≥ 1), required". */
export function schemaSummary(schema) {
  if (schema === undefined || schema === null) return el("span", { class: "sw-muted" }, "any fields (no schema declared)");
  if (schema === false) return el("span", { class: "sw-muted" }, "no fields");
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const names = Object.keys(props);
  return el(
    "div",
    { class: "schema-summary" },
    names.length === 0
      ? el("span", { class: "sw-muted" }, "no named fields")
      : el(
          "ul",
          { class: "fields" },
          names.map((name) =>
            el(
              "li",
              {},
              el("code", {}, name),
              `: ${typeText(props[name])}`,
              required.has(name) ? el("span", { class: "req" }, " required") : null,
              props[name]?.description ? el("span", { class: "sw-muted" }, ` — ${props[name].description}`) : null,
            ),
          ),
        ),
    el("details", { class: "schema-full" }, el("summary", {}, "JSON Schema"), jsonTree(schema, 3)),
  );
}

/** The table of the events `config` accepts, with their schemas. */
export function eventsTable(config) {
  const schemas = config.statewright?.events || {};
  const events = definitionEvents(config);
  const input = config.statewright?.input;
  return el(
    "section",
    { class: "sw-panel", "data-testid": "definition-events" },
    el("div", { class: "sw-panel-head" }, el("h2", {}, "Events it accepts"), el("span", { class: "sw-count" }, String(events.length))),
    el(
      "table",
      { class: "sw-table events-table" },
      el("thead", {}, el("tr", {}, el("th", {}, "Event"), el("th", {}, "In states"), el("th", {}, "Leads to"), el("th", {}, "Who may send"), el("th", {}, "Fields"))),
      el(
        "tbody",
        {},
        events.map((e) =>
          el(
            "tr",
            { "data-testid": "definition-event", "data-event": e.type },
            el("td", {}, el("code", { class: "event-type" }, e.type), e.guarded ? el("div", { class: "sw-muted small" }, "guarded") : null),
            el("td", {}, e.states.join(", ")),
            el("td", {}, e.targets.size ? [...e.targets].join(", ") : el("span", { class: "sw-muted" }, "stays")),
            el("td", {}, e.open ? "any operator" : [...e.roles].join(", ")),
            el("td", {}, schemaSummary(schemas[e.type])),
          ),
        ),
        input !== undefined
          ? el("tr", { "data-testid": "definition-input" }, el("td", {}, el("em", {}, "start input")), el("td", {}, "—"), el("td", {}, config.initial ?? ""), el("td", {}, "any operator"), el("td", {}, schemaSummary(input)))
          : null,
      ),
    ),
  );
}

// The definitions list (/definitions): each definition with its versions, how many instances
// it has (all, and active), and its busiest states; counts follow the live stream.

import { api, live } from "./api.js";
import { valueText } from "./chartvalue.js";
import { problemBox, replaceKeepingFocus } from "./dom.js";
import { el, fill, msTime } from "./ui.js";
import { at } from "./paths.js";

const root = document.getElementById("definitions-root");

function byDefinition(counts) {
  const out = new Map();
  for (const item of counts.items) {
    const entry = out.get(item.definition) || { total: 0, states: [] };
    entry.total += item.count;
    entry.states.push(item);
    out.set(item.definition, entry);
  }
  return out;
}

function stateBar(entry, name) {
  if (!entry || entry.total === 0) return el("span", { class: "sw-muted" }, "—");
  const states = [...entry.states].sort((a, b) => b.count - a.count);
  const top = states.slice(0, 4);
  const rest = states.slice(top.length);
  return el(
    "div",
    { class: "state-mix" },
    el(
      "div",
      { class: "mix-bar", title: states.map((s) => `${valueText(s.value)}: ${s.count}`).join("\n") },
      top.map((s, i) => el("span", { class: `mix-seg mix-${i}`, style: { flexGrow: String(s.count) } })),
    ),
    el(
      "div",
      { class: "mix-legend" },
      top.map((s, i) =>
        el("span", { class: "mix-item" }, el("span", { class: `mix-dot mix-${i}` }), `${valueText(s.value)} ${s.count}`),
      ),
      // The states left out of the legend are named on the definition's page (and here on hover).
      rest.length
        ? el(
            "a",
            {
              class: "sw-muted",
              href: at(`/definitions/${name}`),
              title: rest.map((s) => `${valueText(s.value)}: ${s.count}`).join("\n"),
              "aria-label": `${rest.length} more: ${rest.map((s) => `${valueText(s.value)} ${s.count}`).join(", ")}`,
              "data-testid": "more-states",
            },
            `+${rest.length} more`,
          )
        : null,
    ),
  );
}

function row(definition, info, all, active) {
  const name = encodeURIComponent(definition.id);
  const versions = info?.versions || [{ version: definition.version }];
  return el(
    "tr",
    { "data-testid": "definitions-row", "data-definition": definition.id },
    el(
      "td",
      {},
      el("a", { class: "def-name", href: at(`/definitions/${name}`) }, definition.id),
      info?.config?.description ? el("div", { class: "sw-muted small" }, info.config.description) : null,
    ),
    el(
      "td",
      { class: "versions" },
      versions.map((v) => el("a", { class: "version-chip", href: at(`/definitions/${name}?version=${v.version}`), title: v.hash ? `hash ${v.hash.slice(0, 12)}` : "" }, `v${v.version}`)),
      el("div", { class: "sw-muted small nowrap" }, `v${definition.version} stored ${msTime(definition.created_at).slice(0, 16)}`),
    ),
    el("td", { class: "sw-num", "data-testid": "instance-count" }, el("a", { href: at(`/?definition=${name}`) }, String(all?.total ?? 0))),
    el("td", { class: "sw-num", "data-testid": "active-count" }, el("a", { href: at(`/?definition=${name}&status=active`) }, String(active?.total ?? 0))),
    el("td", {}, stateBar(active, name)),
  );
}

let infos = new Map();

async function load() {
  const [definitions, all, active] = await Promise.all([
    api("/definitions"),
    api("/state-counts"),
    api("/state-counts?status=active"),
  ]);
  const missing = definitions.items.filter((d) => infos.get(d.id)?.version !== d.version);
  const read = await Promise.all(missing.map((d) => api(`/definitions/${encodeURIComponent(d.id)}`).catch(() => null)));
  missing.forEach((d, i) => read[i] && infos.set(d.id, read[i]));
  const allBy = byDefinition(all);
  const activeBy = byDefinition(active);
  // Drawn anew on each live update: the focused link keeps the focus.
  replaceKeepingFocus(
    root,
    el("div", { class: "page-head" }, el("h1", {}, "Definitions"), el("span", { class: "sw-muted" }, `${definitions.items.length} definitions · ${all.total} instances`)),
    definitions.items.length === 0
      ? el("section", { class: "sw-panel" }, el("p", { class: "sw-empty" }, "No definitions are stored yet: register one (statewright serve --machines, or Engine.register)."))
      : el(
          "section",
          { class: "sw-panel" },
          el(
            "table",
            { class: "sw-table definitions-table" },
            el(
              "thead",
              {},
              el("tr", {}, el("th", {}, "Definition"), el("th", {}, "Versions"), el("th", { class: "sw-num" }, "Instances"), el("th", { class: "sw-num" }, "Active"), el("th", {}, "Active by state")),
            ),
            el("tbody", {}, definitions.items.map((d) => row(d, infos.get(d.id), allBy.get(d.id), activeBy.get(d.id)))),
          ),
        ),
  );
  root.dataset.ready = "true";
}

let soon = null;
function reload() {
  if (soon) return;
  soon = setTimeout(() => {
    soon = null;
    load().catch(() => {});
  }, 1000);
}
live.on(reload);
live.onState((state) => state === "open" && reload());

load().catch((error) => fill(root, el("h1", {}, "Definitions"), problemBox(error)));

// One definition (/definitions/{name}?version=N): its statechart drawn with the number of
// instances in each state painted on it, a version picker, the counts as a table, and the
// events it accepts with their schemas. The counts follow the live stream.

import { api, live } from "./api.js";
import { problemBox, replaceKeepingFocus } from "./dom.js";
import { filterPath, leafPaths, stateIds, valueText } from "./chartvalue.js";
import { eventsTable } from "./events_table.js";
import { zoomable } from "./diagram_zoom.js";
import { drawStatechart } from "./statechart.js";
import { el, fill, msTime } from "./ui.js";
import { at, consolePath } from "./paths.js";

const root = document.getElementById("definition-root");
const name = decodeURIComponent(consolePath().replace(/^\/definitions\//, "").replace(/\/$/, ""));
const enc = encodeURIComponent(name);

const ui = {
  head: el("div", { class: "page-head" }),
  diagram: el("div", { class: "diagram", "data-testid": "diagram" }),
  counts: el("div"),
  events: el("div"),
};
const view = zoomable(ui.diagram);
let drawing = null;
let toId = (p) => p;

function notFound() {
  fill(
    root,
    el(
      "section",
      { class: "sw-panel sw-panel-body not-found", "data-testid": "not-found" },
      el("h1", {}, "Definition not found"),
      el("p", {}, "No definition ", el("code", {}, name), " is stored (or not that version)."),
      el("p", {}, el("a", { href: at("/definitions") }, "← All definitions")),
    ),
  );
}

/** Instances per state id (atomic states; a parallel state's instance counts once in each
 * region), from `/state-counts` items. */
function perState(items) {
  const counts = {};
  for (const item of items) {
    for (const path of leafPaths(item.value)) {
      const id = toId(path);
      counts[id] = (counts[id] || 0) + item.count;
    }
  }
  return counts;
}

async function paintCounts() {
  const counts = await api(`/state-counts?definition=${enc}`);
  drawing?.paintCounts(perState(counts.items));
  const items = [...counts.items].sort((a, b) => b.count - a.count);
  // Drawn anew on each live update: a focused state's link keeps the focus.
  replaceKeepingFocus(
    ui.counts,
    el(
      "section",
      { class: "sw-panel", "data-testid": "state-counts" },
      el("div", { class: "sw-panel-head" }, el("h2", {}, "Instances by state"), el("span", { class: "sw-count" }, String(counts.total))),
      items.length === 0
        ? el("p", { class: "sw-empty" }, "No instances yet.")
        : el(
            "table",
            { class: "sw-table" },
            el(
              "tbody",
              {},
              items.map((c) =>
                el(
                  "tr",
                  { "data-testid": "state-count", "data-state": valueText(c.value) },
                  el("td", {}, el("a", { href: at(`/?definition=${enc}&state=${encodeURIComponent(filterPath(c.value))}`) }, valueText(c.value))),
                  el("td", { class: "sw-num" }, String(c.count)),
                ),
              ),
            ),
          ),
      el("p", { class: "sw-muted small sw-panel-body" }, "Counted over the instances of every version."),
    ),
  );
}

async function show(version) {
  let definition;
  try {
    definition = await api(`/definitions/${enc}${version ? `?version=${version}` : ""}`);
  } catch (error) {
    if (error.status === 404) return notFound();
    throw error;
  }
  const config = definition.config;
  document.title = `${name} v${definition.version} · statewright`;
  const picker = el(
    "select",
    { "data-testid": "version-select", "aria-label": "Version" },
    [...definition.versions].reverse().map((v) => el("option", { value: String(v.version) }, `v${v.version} · ${msTime(v.created_at)}`)),
  );
  picker.value = String(definition.version);
  picker.addEventListener("change", () => {
    const url = new URL(location.href);
    url.searchParams.set("version", picker.value);
    history.replaceState(null, "", url);
    show(Number(picker.value)).catch((error) => fill(ui.events, problemBox(error)));
  });
  fill(
    ui.head,
    el("div", {}, el("h1", {}, name), config.description ? el("p", { class: "sw-muted" }, config.description) : null),
    el("label", { class: "version-pick" }, "Version ", picker),
  );
  fill(ui.events, eventsTable(config));
  drawing = null;
  view.detach();
  ui.diagram.dataset.ready = "";
  fill(ui.diagram, el("p", { class: "sw-muted diagram-wait" }, "Drawing the statechart…"));
  try {
    const model = await api(`/definitions/${enc}/diagram?version=${definition.version}`);
    toId = stateIds(model, config.id ?? name);
    drawing = await drawStatechart(ui.diagram, model);
    view.attach(drawing);
  } catch (error) {
    fill(ui.diagram, error.problem ? problemBox(error) : el("p", { class: "sw-muted" }, `The diagram could not be drawn: ${error.message}`));
  }
  await paintCounts();
  ui.diagram.dataset.ready = "true";
}

async function main() {
  fill(
    root,
    ui.head,
    el("section", { class: "sw-panel diagram-card" }, view.element),
    el("div", { class: "definition-grid" }, ui.counts, ui.events),
  );
  let loaded = false;
  let soon = null;
  const repaint = () => {
    if (!loaded || soon) return;
    soon = setTimeout(() => {
      soon = null;
      paintCounts().catch(() => {});
    }, 1000);
  };
  // Listening from before the first read, and reading again once the stream is open, no
  // transition committed meanwhile is left out of the counts.
  live.on((event) => {
    if (event.type === "resync" || event.definition === name) repaint();
  });
  live.onState((state) => state === "open" && repaint());
  const wanted = Number(new URL(location.href).searchParams.get("version")) || null;
  await show(wanted);
  loaded = true;
  repaint();
}

main().catch((error) => fill(root, el("h1", {}, name), problemBox(error)));

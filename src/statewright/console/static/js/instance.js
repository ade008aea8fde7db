// The instance page (/instances/{id}): the drawn statechart with the active configuration
// highlighted, business state beside runtime status, the actions the session may take, timers,
// steps, context, and the history as a timeline with a scrubber that replays it onto the
// diagram. Live: every transition of this instance on the tenant stream re-reads it.

import { api, live, session } from "./api.js";
import { problemBox } from "./dom.js";
import { activePaths, stateIds, valueText } from "./chartvalue.js";
import { actionsBar, actionsKey } from "./actions.js";
import { businessState, contextPanel, runtimeStatus, stepsPanel, tickCountdowns, timersPanel } from "./panels.js";
import { markScrub, renderTimeline, tick } from "./timeline.js";
import { zoomable } from "./diagram_zoom.js";
import { drawStatechart } from "./statechart.js";
import { el, fill, msTime } from "./ui.js";
import { at, consolePath } from "./paths.js";

const root = document.getElementById("instance-root");
const id = decodeURIComponent(consolePath().replace(/^\/instances\//, "").replace(/\/$/, ""));
const path = `/instances/${encodeURIComponent(id)}`;

const ui = {
  title: el("div", { class: "page-head" }),
  flash: el("div", { class: "flash", role: "status", "aria-live": "polite", "data-testid": "flash", tabindex: "-1" }),
  notice: el("div", { class: "notice", "data-testid": "notice" }),
  status: el("div", { class: "status-pair" }),
  actions: el("div"),
  form: el("div", { class: "form-slot" }),
  diagram: el("div", { class: "diagram", "data-testid": "diagram" }),
  scrub: el("div", { class: "scrubber" }),
  side: el("div", { class: "side" }),
  timeline: el("div", { class: "timeline-wrap" }),
};
const view = zoomable(ui.diagram);

const data = { me: null, inst: null, history: [], attempts: [], accepted: null, steps: [], timers: [], config: null };
let drawing = null;
let toId = (p) => p;
/** The timeline shows the latest rows only, until asked for all (a long history stays fast). */
const TIMELINE_ROWS = 300;
let showAll = false;
let scrubAt = null; // null: following live; else the index into history shown on the diagram

function notFound() {
  fill(
    root,
    el(
      "section",
      { class: "sw-panel sw-panel-body not-found", "data-testid": "not-found" },
      el("h1", {}, "Instance not found"),
      el("p", {}, "There is no instance ", el("code", {}, id), " in your tenant: the id may be mistyped, or it belongs to another tenant."),
      el("p", {}, el("a", { href: at("/") }, "← All instances")),
    ),
  );
}

function failed(error) {
  fill(root, el("section", { class: "sw-panel sw-panel-body" }, el("h1", { class: "sw-break" }, id), problemBox(error)));
}

async function readAll() {
  const [inst, history, attempts, accepted, steps, timers] = await Promise.all([
    api(path),
    api(`${path}/history`),
    api(`${path}/step-attempts`),
    api(`${path}/accepted`),
    api(`${path}/steps?limit=1000`),
    api(`${path}/timers?limit=1000`),
  ]);
  Object.assign(data, {
    inst,
    history: history.items,
    attempts: attempts.items,
    accepted,
    steps: steps.items,
    timers: timers.items,
  });
}

let revealed = null; // the active states last brought into view
function highlight(value) {
  const ids = activePaths(value).map(toId);
  drawing?.highlight(ids);
  // Only when they change: an operator scrolling the drawing is not pulled back each read.
  const key = ids.join(" ");
  if (drawing && key !== revealed) {
    revealed = key;
    drawing.reveal();
  }
}

function renderScrubber() {
  const n = data.history.length;
  const range = el("input", {
    type: "range",
    min: "0",
    max: String(Math.max(0, n - 1)),
    step: "1",
    "data-testid": "scrubber",
    "aria-label": "Replay the history onto the diagram",
  });
  range.value = String(scrubAt ?? n - 1);
  range.disabled = n < 2;
  const label = el("span", { class: "scrub-label", "data-testid": "scrub-label" });
  // While replaying, only the diagram and the history go back: the cards and the actions
  // above are the instance now, and say so, so that nobody reads the past as the present.
  const note = el("span", { class: "scrub-note", "data-testid": "scrub-note", role: "status" });
  const toLive = el("button", { type: "button", class: "sw-button sw-small", "data-testid": "scrub-live" }, "Live");
  const show = () => {
    const i = Number(range.value);
    scrubAt = i >= n - 1 ? null : i;
    const t = data.history[i];
    toLive.disabled = scrubAt === null;
    note.textContent = scrubAt === null ? "" : "the past: the cards and actions above are the instance now";
    label.textContent = t ? `v${t.version} · ${msTime(t.at)} · ${valueText(t.to_value)}${scrubAt === null ? " (now)" : ""}` : "";
    if (t) highlight(t.to_value);
    ui.diagram.classList.toggle("replaying", scrubAt !== null);
    const list = ui.timeline.querySelector(".timeline");
    if (list) markScrub(list, scrubAt === null ? null : t.version);
  };
  range.addEventListener("input", show);
  toLive.addEventListener("click", () => {
    range.value = String(n - 1);
    show();
  });
  fill(ui.scrub, el("span", { class: "sw-muted" }, "Replay"), range, label, note, toLive);
  show();
}

const shown = new Map();
/** Whether `value` differs from what part `name` shows (each part is rebuilt only then, so
 * open trees and forms stay as they are across reads that changed nothing of theirs). */
function changed(name, value) {
  const text = JSON.stringify(value);
  if (shown.get(name) === text) return false;
  shown.set(name, text);
  return true;
}

function render() {
  const { inst, me } = data;
  document.title = `${inst.id} · ${inst.definition} · statewright`;
  if (changed("head", [inst, data.config !== null])) {
    fill(
      ui.title,
      el("h1", {}, inst.id),
      el(
        "div",
        { class: "sw-muted" },
        el("a", { href: at(`/definitions/${encodeURIComponent(inst.definition)}?version=${inst.definition_version}`) }, `${inst.definition} v${inst.definition_version}`),
        ` · tenant ${inst.tenant}`,
      ),
    );
    fill(ui.status, businessState(inst, data.config), runtimeStatus(inst));
  }
  if (changed("actions", actionsKey(data.accepted, inst, me))) {
    fill(ui.actions, actionsBar(ctx, data.accepted, inst, me, ui.form));
  }
  const canAct = me.role === "operator" || me.role === "admin";
  if (changed("side", [data.timers, data.steps, inst.context, inst.output, inst.payloads_withheld])) {
    fill(ui.side, timersPanel(data.timers), stepsPanel(data.steps, { canAct, onRetry: retryStep }), contextPanel(inst));
  }
  if (changed("timeline", [data.history, data.attempts, inst.status, showAll])) {
    fill(
      ui.timeline,
      el("div", { class: "sw-panel-head" }, el("h2", {}, "History"), el("span", { class: "sw-count" }, String(data.history.length))),
      renderTimeline(data.history, data.attempts, {
        active: inst.status === "active",
        limit: showAll ? Infinity : TIMELINE_ROWS,
        onShowAll: () => {
          showAll = true;
          render();
        },
      }),
    );
    renderScrubber();
  }
}

async function retryStep(step, button) {
  button.disabled = true;
  const slot = button.closest("[data-testid=step]")?.querySelector(".step-problem");
  try {
    await api(`${path}/steps/${encodeURIComponent(step.invoke_id)}/retry`, { method: "POST" });
    flash(`Step ${step.invoke_id}: next attempt due now`);
    refresh();
  } catch (error) {
    button.disabled = false;
    if (slot) fill(slot, problemBox(error));
  }
}

function flash(message) {
  fill(ui.flash, el("span", {}, message));
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => fill(ui.flash), 6000);
}

let reading = null;
let again = false;
/** Read the instance again (one read at a time; requests made meanwhile coalesce). */
async function refresh() {
  if (reading) {
    again = true;
    return reading;
  }
  reading = (async () => {
    do {
      again = false;
      try {
        await readAll();
        render();
      } catch (error) {
        if (error.status === 404) notFound();
        else flash(`Could not read the instance: ${error.message}`);
      }
    } while (again);
  })();
  try {
    await reading;
  } finally {
    reading = null;
  }
}

/** A notice that stays until dismissed (or an action is done): why an action was refused,
 * or why its form was closed. */
function noticeLine(error) {
  const line = el("div", { class: "notice-line" }, problemBox(error));
  line.append(el("button", { type: "button", class: "sw-button sw-small", onclick: () => line.remove() }, "Dismiss"));
  return line;
}

const ctx = {
  id,
  version: () => data.inst.version,
  refused(error) {
    fill(ui.notice, noticeLine(error));
    refresh();
  },
  notify(problem) {
    ui.notice.append(noticeLine({ problem }));
  },
  done(message, entry) {
    fill(ui.notice);
    const [from, to] = [valueText(entry.from_value), valueText(entry.to_value)];
    // A stop, or an event handled without leaving the state, moves nowhere: no arrow.
    flash(from === to ? `${message} in ${to} (v${entry.version})` : `${message}: ${from} → ${to} (v${entry.version})`);
    // The button that sent it is gone once the instance has moved on (its actions are new):
    // the focus goes to the message saying what was done, just before the new actions,
    // rather than back to the top of the page.
    refresh().then(() => {
      if (document.activeElement === document.body || !document.activeElement) ui.flash.focus({ preventScroll: true });
    });
  },
};

let soon = null;
function refreshSoon() {
  clearTimeout(soon);
  soon = setTimeout(refresh, 100);
}

async function main() {
  // Listen before the first read, and read again once the stream is open: a transition
  // committed meanwhile is then either in what was read or on the stream.
  let loaded = false;
  live.on((event) => {
    if (loaded && (event.type === "resync" || event.instance_id === id)) refreshSoon();
  });
  live.onState((state) => {
    if (loaded && state === "open") refreshSoon();
  });
  data.me = await session();
  try {
    await readAll();
  } catch (error) {
    if (error.status === 404) notFound();
    else failed(error);
    return;
  }
  const { inst } = data;
  const version = inst.definition_version;
  const name = encodeURIComponent(inst.definition);
  fill(
    root,
    ui.title,
    ui.flash,
    ui.notice,
    el("div", { class: "top-row" }, ui.status, ui.actions),
    ui.form,
    el("section", { class: "sw-panel diagram-card" }, view.element, ui.scrub),
    el("div", { class: "instance-grid" }, el("section", { class: "sw-panel" }, ui.timeline), ui.side),
  );
  fill(ui.diagram, el("p", { class: "sw-muted diagram-wait" }, "Drawing the statechart…"));
  const [config, model] = await Promise.all([
    api(`/definitions/${name}?version=${version}`).then((d) => d.config, () => null),
    api(`/definitions/${name}/diagram?version=${version}`).catch((error) => {
      fill(ui.diagram, problemBox(error));
      return null;
    }),
  ]);
  data.config = config;
  toId = stateIds(model, config?.id ?? inst.definition);
  render();
  if (model) {
    try {
      drawing = await drawStatechart(ui.diagram, model);
      view.attach(drawing);
      renderScrubber();
      ui.diagram.dataset.ready = "true";
    } catch (error) {
      fill(ui.diagram, el("p", { class: "sw-muted" }, `The diagram could not be drawn: ${error.message}`));
    }
  }
  loaded = true;
  refreshSoon();
  setInterval(() => {
    tickCountdowns(root);
    const list = ui.timeline.querySelector(".timeline");
    if (list) tick(list);
  }, 1000);
  // A failed attempt or a claimed step commits no transition (nothing on the stream):
  // while steps are unfinished, read again now and then.
  setInterval(() => {
    if (data.steps.length && !document.hidden) refresh();
  }, 3000);
}

main().catch(failed);

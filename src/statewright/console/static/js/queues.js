// The queues: unfinished steps (running, retrying, waiting for a worker), pending timers,
// the workers heard of recently, the cron schedules they run, the outbox's messages waiting
// for delivery, and its dead letters with redrive. Read again every few seconds and soon after each committed
// transition; the rows are made again each time, so the keyboard focus is carried over to
// the same link or button of the same row. The steps tab is kept in the URL (`?steps=`).
import { ApiError, api, live, session } from "./api.js";
import { eventLabel } from "./chartvalue.js";
import { closeConfirmOnEscape, fmtTime, h, pill, problemBox, replace, since } from "./dom.js";
import { at } from "./paths.js";

const $ = (id) => document.getElementById(id);
const REFRESH_MS = 5000;
const lists = {
  steps: { path: "/steps", items: [], cursor: null },
  timers: { path: "/timers", items: [], cursor: null },
  outbox: { path: "/outbox", items: [], cursor: null },
  dead: { path: "/dead-letters", items: [], cursor: null },
};
let workers = [];
let schedules = [];
const STEP_FILTERS = ["all", "running", "retrying", "no-worker"];
let stepFilter = "all";
let canAct = false;

function link(id) {
  return h("a", { class: "sw-id", href: at(`/instances/${encodeURIComponent(id)}`) }, id);
}

/** The step sources some live worker provides. */
function provided() {
  return new Set(workers.filter((w) => w.alive).flatMap((w) => w.steps));
}

function needsWorker(step, sources) {
  return step.status !== "running" && !sources.has(step.src);
}

// -- loading ---------------------------------------------------------------------------------

async function load(name, { more = false } = {}) {
  const list = lists[name];
  // A refresh reads as many as are shown (up to 1000), so that "More" pages stay.
  const limit = more ? 100 : Math.min(1000, Math.max(100, list.items.length));
  const params = new URLSearchParams({ limit: String(limit) });
  if (more && list.cursor) params.set("cursor", list.cursor);
  const page = await api(`${list.path}?${params}`);
  list.items = more ? [...list.items, ...page.items] : page.items;
  list.cursor = page.next_cursor;
}

async function refresh() {
  try {
    const [found, scheduled] = await Promise.all([
      api("/workers"),
      api("/schedules"),
      load("steps"),
      load("timers"),
      load("outbox"),
      load("dead"),
    ]);
    workers = found.items;
    schedules = scheduled.items;
    replace($("problem"));
    render();
    $("refreshed").textContent = `updated ${fmtTime(Date.now()).slice(11)}`;
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) replace($("problem"), problemBox(error));
  }
}

function counted(list, n = list.items.length) {
  return list.cursor ? `${n}+` : String(n);
}

// -- rendering -------------------------------------------------------------------------------

/** Where the keyboard focus is, as [table body id, row id, control], to find it again in
 * the rows made anew (null when it is not on a row's link or button). */
function focusPlace() {
  const node = document.activeElement;
  const row = node && node.closest ? node.closest("tbody[id] > tr[data-id]") : null;
  if (!row) return null;
  return [row.parentElement.id, row.dataset.id, node.dataset.testid || node.getAttribute("href") || node.tagName];
}

function refocus(place) {
  if (!place || document.activeElement !== document.body) return;
  const [body, rowId, control] = place;
  const row = [...$(body).children].find((tr) => tr.dataset.id === rowId);
  const node = row && [...row.querySelectorAll("a, button")].find((n) =>
    (n.dataset.testid || n.getAttribute("href") || n.tagName) === control);
  if (node && !node.disabled) node.focus({ preventScroll: true });
}

function render() {
  const place = focusPlace();
  const sources = provided();
  const steps = lists.steps.items;
  const running = steps.filter((s) => s.status === "running").length;
  const retrying = steps.filter((s) => s.status === "retrying").length;
  const orphaned = steps.filter((s) => needsWorker(s, sources)).length;
  const alive = workers.filter((w) => w.alive).length;
  const unrun = schedules.filter((s) => s.workers.length === 0).length;
  const stat = (label, value, tone, testid) =>
    h("div", { class: "sw-stat", "data-tone": tone, "data-testid": testid },
      h("span", { class: "sw-stat-n" }, value), h("span", { class: "sw-stat-label" }, label));
  replace(
    $("stats"),
    stat("Steps running", String(running), "", "stat-running"),
    stat("Steps retrying", String(retrying), retrying ? "warn" : "", "stat-retrying"),
    stat("Waiting for a worker", String(orphaned), orphaned ? "bad" : "", "stat-no-worker"),
    stat("Timers pending", counted(lists.timers), "", "stat-timers"),
    stat("Outbox pending", counted(lists.outbox), "", "stat-outbox"),
    stat("Dead letters", counted(lists.dead), lists.dead.items.length ? "bad" : "", "stat-dead"),
    stat("Workers live", String(alive), alive ? "" : "bad", "stat-workers"),
    stat("Schedules without a worker", String(unrun), unrun ? "bad" : "", "stat-unrun-schedules"),
  );
  renderSteps(sources);
  renderTimers();
  renderWorkers();
  renderSchedules();
  renderOutbox();
  renderDead();
  refocus(place);
}

function renderOutbox() {
  const items = lists.outbox.items;
  $("outbox-count").textContent = counted(lists.outbox);
  replace($("outbox"), items.map((message) =>
    h("tr", { "data-testid": "outbox-row", "data-id": message.message_id },
      h("td", {}, h("span", { class: "sw-mono" }, message.message_id)),
      h("td", {}, link(message.instance_id)),
      h("td", {}, h("span", { class: "sw-mono" }, message.event.type)),
      h("td", { class: "sw-num" }, String(message.attempts)),
      h("td", { class: "sw-wrap" }, message.last_error ? h("span", { class: "sw-error-text" }, message.last_error) : h("span", { class: "sw-faint" }, "—")),
      h("td", { title: fmtTime(message.next_attempt_at) }, since(message.next_attempt_at)))));
  $("outbox-empty").hidden = items.length > 0;
  $("outbox-more-bar").hidden = !lists.outbox.cursor;
}

function renderSteps(sources) {
  const place = focusPlace();
  const shown = lists.steps.items.filter((step) => {
    if (stepFilter === "running" || stepFilter === "retrying") return step.status === stepFilter;
    if (stepFilter === "no-worker") return needsWorker(step, sources);
    return true;
  });
  replace($("steps"), shown.map((step) => {
    const orphan = needsWorker(step, sources);
    return h("tr", { "data-testid": "step-row", "data-id": `${step.instance_id}/${step.invoke_id}` },
      h("td", {}, link(step.instance_id)),
      h("td", {}, h("span", { class: "sw-mono" }, step.src),
        orphan ? h("span", { class: "sw-sub", "data-testid": "no-worker" }, `no live worker provides ${step.src}`) : null),
      h("td", {}, h("span", { class: "sw-state-text" }, step.state)),
      h("td", {}, pill(step.status)),
      h("td", { class: "sw-num" }, step.max_attempts ? `${step.attempts} / ${step.max_attempts}` : String(step.attempts)),
      h("td", { class: "sw-wrap" }, step.last_error ? h("span", { class: "sw-error-text" }, step.last_error) : h("span", { class: "sw-faint" }, "—")),
      h("td", { title: fmtTime(step.next_attempt_at) },
        step.status === "running"
          ? h("span", { class: "sw-muted" }, step.lease_until ? `lease ${since(step.lease_until)}` : "")
          : since(step.next_attempt_at)),
      h("td", {}, canAct && step.status === "retrying"
        ? h("button", { type: "button", class: "sw-button sw-small", "data-testid": "step-retry", onclick: (e) => retryStep(step, e.target) }, "Retry now")
        : null),
    );
  }));
  $("steps-empty").hidden = shown.length > 0;
  $("steps-more-bar").hidden = !lists.steps.cursor;
  refocus(place);
}

function renderTimers() {
  const items = lists.timers.items;
  $("timers-count").textContent = counted(lists.timers);
  replace($("timers"), items.map((timer) =>
    h("tr", { "data-testid": "timer-row", "data-id": `${timer.instance_id}/${timer.timer_id}` },
      h("td", {}, link(timer.instance_id)),
      h("td", { title: timer.event?.type || timer.timer_id }, eventLabel(timer.event?.type || timer.timer_id)),
      h("td", { title: fmtTime(timer.due_at) }, since(timer.due_at)))));
  $("timers-empty").hidden = items.length > 0;
  $("timers-more-bar").hidden = !lists.timers.cursor;
}

function renderWorkers() {
  $("workers-count").textContent = String(workers.length);
  replace($("workers"), workers.map((worker) =>
    h("tr", { "data-testid": "worker-row", "data-id": `${worker.host}:${worker.pid}` },
      h("td", { class: "sw-nowrap" },
        h("span", { class: `sw-pill sw-pill-${worker.alive ? "running" : "stopped"}`, title: worker.alive ? "heard of within the last heartbeats" : "not heard of lately: stopped without a word?" }, worker.alive ? "live" : "quiet"),
        " ", h("span", { class: "sw-mono" }, `${worker.host}:${worker.pid}`)),
      h("td", { class: "sw-wrap" },
        worker.steps.length ? h("span", { class: "sw-mono" }, worker.steps.join(", ")) : h("span", { class: "sw-faint" }, "no steps"),
        worker.listeners.length ? h("span", { class: "sw-sub" }, `outbox: ${worker.listeners.join(", ")}`) : null),
      h("td", { title: fmtTime(worker.heartbeat_at) }, since(worker.heartbeat_at)),
      h("td", { class: "sw-muted" }, fmtTime(worker.started_at)))));
  $("workers-empty").hidden = workers.length > 0;
}

function renderSchedules() {
  $("schedules-count").textContent = String(schedules.length);
  replace($("schedules"), schedules.map((schedule) => {
    const tick = schedule.last_tick;
    return h("tr", { "data-testid": "schedule-row", "data-id": schedule.name },
      h("td", {}, h("span", { class: "sw-mono" }, schedule.name),
        schedule.description ? h("span", { class: "sw-sub" }, schedule.description) : null),
      h("td", { class: "sw-wrap", "data-testid": "schedule-summary" }, schedule.summary),
      h("td", { class: "sw-nowrap" }, h("span", { class: "sw-mono" }, schedule.cron),
        h("span", { class: "sw-sub" }, schedule.timezone)),
      h("td", { class: "sw-wrap", "data-testid": "schedule-workers" }, schedule.workers.length
        ? h("span", { class: "sw-mono" }, schedule.workers.map((w) => `${w.host}:${w.pid}`).join(", "))
        : [h("span", { class: "sw-error-text", "data-testid": "schedule-no-worker" }, "no live worker runs it"),
          h("span", { class: "sw-sub", title: fmtTime(schedule.last_heard_at) }, `last heard of ${since(schedule.last_heard_at)}: its ticks wait`)]),
      h("td", { "data-testid": "schedule-last-tick" }, tick
        ? [h("span", { title: fmtTime(tick.at) }, since(tick.at)), " ", pill(tick.status),
          tick.taken_over ? h("span", { class: "sw-sub" }, "taken over from a worker that died") : null]
        : h("span", { class: "sw-faint" }, "never")),
      h("td", { title: fmtTime(schedule.next_tick), "data-testid": "schedule-next-tick" },
        schedule.next_tick === null ? h("span", { class: "sw-faint" }, "none") : since(schedule.next_tick)));
  }));
  $("schedules-empty").hidden = schedules.length > 0;
}

function renderDead() {
  const items = lists.dead.items;
  $("dead-count").textContent = counted(lists.dead);
  $("redrive-all").hidden = !canAct || items.length === 0;
  replace($("dead"), items.map((letter) =>
    h("tr", { "data-testid": "dead-letter-row", "data-id": letter.message_id },
      h("td", {}, h("span", { class: "sw-mono" }, letter.message_id)),
      h("td", {}, link(letter.instance_id)),
      h("td", {}, h("span", { class: "sw-mono" }, letter.event.type)),
      h("td", { class: "sw-num" }, String(letter.attempts)),
      h("td", { class: "sw-wrap" }, h("span", { class: "sw-error-text" }, letter.last_error || "")),
      h("td", { title: fmtTime(letter.failed_at) }, since(letter.failed_at)),
      h("td", {}, canAct
        ? h("button", { type: "button", class: "sw-button sw-small", "data-testid": "redrive", onclick: (e) => redrive({ message_id: letter.message_id }, e.target) }, "Redrive")
        : null))));
  $("dead-empty").hidden = items.length > 0;
  $("dead-more-bar").hidden = !lists.dead.cursor;
}

// -- actions ---------------------------------------------------------------------------------

// What an action answered stays in its panel until the next action there: a refresh
// (every few seconds) clears only the problem of reading.
async function retryStep(step, button) {
  button.disabled = true;
  replace($("steps-result"));
  try {
    await api(`/instances/${encodeURIComponent(step.instance_id)}/steps/${encodeURIComponent(step.invoke_id)}/retry`, { method: "POST" });
    replace($("steps-result"), h("div", { class: "sw-note", "data-testid": "step-retry-done" },
      `Step ${step.invoke_id} of ${step.instance_id}: next attempt due now.`));
  } catch (error) {
    button.disabled = false;
    replace($("steps-result"), problemBox(error));
  }
  await refresh();
}

const letters = (n) => `${n} dead ${n === 1 ? "letter" : "letters"}`;

// What a redrive did, in the words of its confirmation: `shown` is the count the user said
// yes to (a redrive of all), which the server kept to with the count's `as_of`.
function redriveDone(result, shown) {
  const done = `${result.redriven} redriven.`;
  if (shown === undefined || result.redriven >= shown) return done;
  const gone = shown - result.redriven;
  return `${result.redriven} of the ${shown} counted redriven: ${gone} ${gone === 1 ? "was" : "were"} ` +
    "no longer dead (redriven by someone else meanwhile). Letters dead since the count were left alone.";
}

async function redrive(body, button, shown) {
  if (button) button.disabled = true;
  try {
    const result = await api("/dead-letters/redrive", { method: "POST", body });
    replace($("dead-result"), h("div", { class: "sw-note", "data-testid": "redrive-done" }, redriveDone(result, shown)));
    await refresh();
  } catch (error) {
    if (button) button.disabled = false;
    replace($("dead-result"), problemBox(error));
  }
}

async function countRedriveAll() {
  const confirm = $("redrive-confirm");
  try {
    // The count comes with the position it was taken at (as_of): the redrive sent with it
    // acts on those letters only, never on one that died after the count.
    const counted = await api("/dead-letters/redrive", { method: "POST", body: { all: true, dry_run: true } });
    const shown = counted.matched;
    replace(confirm,
      h("span", { "data-testid": "redrive-count" }, `Send ${letters(shown)} again?`),
      h("button", { type: "button", class: "sw-button sw-small sw-primary", "data-testid": "redrive-go", onclick: () => { confirm.hidden = true; redrive({ all: true, as_of: counted.as_of }, null, shown); } }, `Yes, redrive ${shown}`),
      h("button", { type: "button", class: "sw-button sw-small", onclick: () => { confirm.hidden = true; } }, "No"));
    confirm.hidden = false;
  } catch (error) {
    replace($("dead-result"), problemBox(error));
  }
}

// -- start -----------------------------------------------------------------------------------

async function start() {
  const who = await session();
  canAct = who.role !== "viewer";
  const asked = new URLSearchParams(location.search).get("steps");
  const pick = (filter) => {
    stepFilter = filter;
    for (const tab of $("step-tabs").querySelectorAll("button")) tab.setAttribute("aria-selected", String(tab.dataset.filter === filter));
  };
  pick(STEP_FILTERS.includes(asked) ? asked : "all");
  for (const tab of $("step-tabs").querySelectorAll("button")) {
    tab.addEventListener("click", () => {
      pick(tab.dataset.filter);
      const params = new URLSearchParams(location.search);
      if (stepFilter === "all") params.delete("steps");
      else params.set("steps", stepFilter);
      const text = params.toString();
      history.replaceState(null, "", at(text ? `/queues?${text}` : "/queues"));
      renderSteps(provided());
    });
  }
  for (const name of ["steps", "timers", "outbox", "dead"]) {
    $(`${name}-more`).addEventListener("click", () => load(name, { more: true }).then(render, (e) => replace($("problem"), problemBox(e))));
  }
  $("redrive-all").addEventListener("click", countRedriveAll);
  closeConfirmOnEscape($("redrive-confirm"), () => { $("redrive-confirm").hidden = true; }, $("redrive-all"));
  let soon = null;
  live.on(() => {
    clearTimeout(soon);
    soon = setTimeout(refresh, 500);
  });
  await refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
}

start().catch((error) => replace($("problem"), problemBox(error)));

// The instances list: filters (kept in the URL), search by the start of an id (the exact id
// comes first: it sorts before every longer one), counts per business state,
// keyset paging ("More"), live updates from the tab's stream, and bulk actions over the
// filter (a dry-run count first, then confirm).
import { api, live, session } from "./api.js";
import { activePaths, filterPath, valueText } from "./chartvalue.js";
import { arrange, closeConfirmOnEscape, fmtTime, h, pill, problemBox, replace, since } from "./dom.js";
import { at } from "./paths.js";

const FILTERS = ["definition", "state", "tag", "status", "runtime_status"];
const PAGE = 100;
const $ = (id) => document.getElementById(id);
const form = $("filters");
const rows = $("rows");
const byId = new Map(); // instance id -> {row, item}
let nextCursor = null;
let generation = 0; // a newer load makes the answers of older ones moot

// -- filters and the URL ---------------------------------------------------------------------

function filters() {
  const found = {};
  for (const name of FILTERS) {
    const value = form.elements[name].value.trim();
    if (value) found[name] = value;
  }
  return found;
}

function search() {
  return form.elements.q.value.trim();
}

/** The list's query string: the filters, the id search as `id_prefix`, and `extra`. */
function query(extra = {}) {
  const params = new URLSearchParams({ ...filters(), ...extra });
  if (search()) params.set("id_prefix", search());
  const text = params.toString();
  return text ? `?${text}` : "";
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  for (const name of [...FILTERS, "q"]) form.elements[name].value = params.get(name) || "";
}

function writeUrl() {
  const params = new URLSearchParams(filters());
  if (search()) params.set("q", search());
  const text = params.toString();
  history.replaceState(null, "", at(text ? `/?${text}` : "/"));
}

// -- rows ------------------------------------------------------------------------------------

function href(id) {
  return at(`/instances/${encodeURIComponent(id)}`);
}

function runtimeCell(item) {
  return [
    pill(item.runtime_status),
    item.waiting_for ? h("span", { class: "sw-sub" }, `waits for ${item.waiting_for}`) : null,
  ];
}

function cells(item) {
  return [
    h("td", {}, h("a", { class: "sw-id", href: href(item.id), "data-testid": "instance-link" }, item.id)),
    h("td", {}, item.definition, h("span", { class: "sw-faint" }, ` v${item.definition_version}`)),
    h("td", { "data-testid": "business-state" }, h("span", { class: "sw-state-text" }, valueText(item.value))),
    h("td", { "data-testid": "status" }, pill(item.status)),
    h("td", { "data-testid": "runtime-status" }, runtimeCell(item)),
    h("td", { title: fmtTime(item.updated_at), "data-at": item.updated_at, class: "sw-since" }, since(item.updated_at)),
    h("td", { class: "sw-muted" }, fmtTime(item.created_at)),
  ];
}

function newRow(item) {
  return h("tr", { "data-testid": "instances-row", "data-id": item.id }, cells(item));
}

function addRow(item) {
  const row = newRow(item);
  byId.set(item.id, { row, item });
  rows.append(row);
}

/** Show `item` in its row, in place: the id cell (its link may have the keyboard focus)
 * stays, the others are made again. */
function updateRow(known, item) {
  known.item = item;
  const fresh = cells(item);
  [...known.row.children].forEach((cell, i) => {
    if (i > 0) cell.replaceWith(fresh[i]);
  });
}

/** Make the list show `items`, in that order: rows of instances shown already are updated in
 * place (not made again), so that a focused link keeps the focus while the list is re-read. */
function showItems(items) {
  const shown = new Map();
  for (const item of items) {
    if (shown.has(item.id)) continue;
    const known = byId.get(item.id);
    if (known) updateRow(known, item);
    shown.set(item.id, known || { row: newRow(item), item });
  }
  byId.clear();
  for (const [id, entry] of shown) byId.set(id, entry);
  arrange(rows, [...shown.values()].map((entry) => entry.row));
  replace($("problem"));
}

/** The list's empty state says why it is empty and what to do: clear the filters, or start
 * an instance (none yet); none when the list could not be read (the problem says why). */
function showEmpty({ failed = false } = {}) {
  const empty = $("empty");
  empty.hidden = failed || byId.size > 0;
  $("more-bar").hidden = nextCursor === null;
  if (empty.hidden) return;
  const filtered = Object.keys(filters()).length > 0 || search() !== "";
  if (filtered) {
    replace(empty, "No instance matches these filters", search() ? " and the id search" : "", ". ",
      h("button", { type: "button", class: "sw-button sw-small", "data-testid": "empty-clear", onclick: clearFilters }, "Clear the filters"));
  } else {
    replace(empty, "No instances in this tenant yet. Start one with ", h("code", {}, "statewright start DEFINITION"),
      " or ", h("code", {}, "POST /api/v1/instances"), "; ", h("a", { href: at("/definitions") }, "Definitions"), " lists what can be started.");
  }
}

function clearFilters() {
  form.reset();
  reload();
}

function clearRows() {
  byId.clear();
  rows.replaceChildren();
  replace($("problem"));
}

async function loadPage({ append = false, limit = PAGE } = {}) {
  const mine = ++generation;
  const extra = { limit: String(limit) };
  if (append && nextCursor) extra.cursor = nextCursor;
  try {
    const page = await api(`/instances${query(extra)}`);
    if (mine !== generation) return;
    if (append) {
      for (const item of page.items) if (!byId.has(item.id)) addRow(item);
    } else {
      showItems(page.items);
    }
    nextCursor = page.next_cursor;
    showEmpty();
  } catch (error) {
    if (mine !== generation) return;
    if (!append) clearRows();
    replace($("problem"), problemBox(error));
    nextCursor = null;
    showEmpty({ failed: true });
  }
}

function reload() {
  writeUrl();
  enableBulk(!search());
  resetBulk();
  loadCounts();
  return loadPage();
}

// -- counts per business state --------------------------------------------------------------

/** A chip per state: its count, and a click filters by it (or, pressed, drops that filter). */
function chip(c, { state, definition }) {
  // A chip filters by the state path the list accepts: a parallel value's text, such as
  // "fulfilment (inventory.reserving, shipping.handed_over)", is no filter.
  const path = filterPath(c.value);
  const text = valueText(c.value);
  const pressed = state === path && (!definition || definition === c.definition);
  return h(
    "button",
    {
      type: "button",
      class: "sw-chip",
      "aria-pressed": pressed ? "true" : "false",
      "data-testid": "state-count",
      "data-state": text,
      "data-definition": c.definition,
      "data-path": path,
      "data-count": String(c.count),
      onclick: pickChip,
    },
    definition ? null : h("span", { class: "sw-chip-def" }, c.definition),
    h("span", { class: "sw-state-text" }, text),
    h("span", { class: "sw-chip-n" }, String(c.count)),
  );
}

function pickChip(clicked) {
  const picked = clicked.currentTarget;
  if (picked.getAttribute("aria-pressed") === "true") {
    form.elements.state.value = "";
  } else {
    form.elements.state.value = picked.dataset.path;
    form.elements.definition.value = picked.dataset.definition;
  }
  reload();
}

/** Show `fresh` chips, keeping the chip of the same definition and state (updated in place)
 * where there is one: counts change all the time, and a focused chip must keep the focus. */
function showChips(fresh) {
  const key = (node) => JSON.stringify([node.dataset.definition, node.dataset.state]);
  const old = new Map([...$("counts").querySelectorAll(".sw-chip")].map((node) => [key(node), node]));
  const chips = fresh.map((node) => {
    const kept = old.get(key(node));
    if (!kept) return node;
    for (const name of ["aria-pressed", "data-path", "data-count"]) kept.setAttribute(name, node.getAttribute(name));
    kept.replaceChildren(...node.childNodes);
    return kept;
  });
  arrange($("counts"), chips);
}

/** The heading's count: the instances the filters match. The counts are read without the
 * state filter (every state's chip stays), so with one it is the sum of the chips in that
 * state; the id search has no count, and says so instead of a total it does not filter. */
function totalText(counts, state) {
  const matching = state
    ? counts.items.filter((c) => activePaths(c.value).includes(state)).reduce((n, c) => n + c.count, 0)
    : counts.total;
  const text = `${matching} ${matching === 1 ? "instance" : "instances"}`;
  return search() ? `ids starting with ${search()}, of ${text}` : text;
}

async function loadCounts() {
  const { state, ...rest } = filters();
  const params = new URLSearchParams(rest).toString();
  try {
    const counts = await api(`/state-counts${params ? `?${params}` : ""}`);
    $("total").textContent = totalText(counts, state);
    showChips(counts.items.map((c) => chip(c, { state, definition: rest.definition })));
    replace($("f-state-list"), [...new Set(counts.items.map((c) => filterPath(c.value)))].map((s) => h("option", { value: s })));
  } catch (error) {
    replace($("counts"), problemBox(error));
  }
}

// -- live updates ----------------------------------------------------------------------------

let countsTimer = null;
let pageTimer = null;

function later(timer, fn, ms) {
  clearTimeout(timer);
  return setTimeout(fn, ms);
}

/** Whether an instance the list shows still matches the filters after `event`: false once it
 * left them, null when the event cannot tell (it carries no tags). */
function stillMatches(event, wanted) {
  if (wanted.status && wanted.status !== event.status) return false;
  if (wanted.runtime_status && wanted.runtime_status !== event.runtime_status) return false;
  if (wanted.state && !activePaths(event.to_value).includes(wanted.state)) return false;
  return wanted.tag ? null : true;
}

function rereadPage() {
  // Read the rows shown again (as many as are loaded), in a while, once for a burst.
  pageTimer = later(pageTimer, () => loadPage({ limit: Math.min(1000, Math.max(PAGE, byId.size + 1)) }), 400);
}

function onTransition(event) {
  if (event.type === "resync") {
    reload();
    return;
  }
  const wanted = filters();
  if (wanted.definition && wanted.definition !== event.definition) return;
  countsTimer = later(countsTimer, loadCounts, 300);
  const known = byId.get(event.instance_id);
  const matches = stillMatches(event, wanted);
  if (known && matches === false) {
    known.row.remove();
    byId.delete(event.instance_id);
    showEmpty();
  } else if (known) {
    const item = {
      ...known.item,
      value: event.to_value,
      status: event.status,
      runtime_status: event.runtime_status,
      updated_at: event.at,
      version: event.version,
      waiting_for: null,
    };
    updateRow(known, item);
    known.row.classList.remove("sw-flash");
    void known.row.offsetWidth; // restart the highlight
    known.row.classList.add("sw-flash");
    // Only the server knows whether it still carries the tag filtered by.
    if (matches === null) rereadPage();
  } else if (event.instance_id.startsWith(search())) {
    rereadPage(); // an instance not shown: new, or now matching the filters (and the search)
  }
}

setInterval(() => {
  for (const cell of rows.querySelectorAll(".sw-since")) cell.textContent = since(Number(cell.dataset.at));
}, 15000);

// -- bulk actions ----------------------------------------------------------------------------
//
// A bulk action acts on the filters, never on an id search (bulk operations take no id): while
// a search is typed the controls are disabled, and no body is made. With no filter at all the
// body says `all: true`, and the question names "every instance of the tenant". The question
// keeps the body it was counted with and the answer sends exactly that; editing a bulk control
// or a filter withdraws the question.

const BULK_CONTROLS = ["bulk-action", "bulk-event", "bulk-count"];
let asked = 0; // a newer question (or its withdrawal) makes an older count's answer moot

function enableBulk(enabled) {
  for (const id of BULK_CONTROLS) $(id).disabled = !enabled;
  $("bulk-off").hidden = enabled;
}

/** The request body for `action` over the filters, or null while an id search is typed. */
function bulkBody(action) {
  if (search()) return null;
  const chosen = filters();
  const body = { ...chosen, dry_run: true };
  if (Object.keys(chosen).length === 0) body.all = true;
  if (action === "send") body.event = { type: $("bulk-event").value.trim() };
  return body;
}

function describe(action, body) {
  if (action === "send") return `send ${body.event.type} to`;
  if (action === "retry") return "retry the waiting steps of";
  return "cancel";
}

function resetBulk() {
  asked += 1;
  $("bulk-confirm").hidden = true;
  replace($("bulk-confirm"));
}

function bulkProblem(title, detail) {
  replace($("bulk-result"), problemBox({ problem: { title, detail } }));
}

// What the action does to an instance, after a count: "9 will be cancelled".
function willDo(action, body) {
  if (action === "send") return `will get ${body.event.type}`;
  if (action === "retry") return "will have their waiting steps retried";
  return "will be cancelled";
}

/** "2 done already, 1 stopped already": the dry run's skips, as words. */
function skipsText(skips) {
  return skips.map((s) => `${s.count} ${s.detail}`).join(", ");
}

// When the count finds nothing the action would change, there is nothing to confirm: say
// why each match would be skipped, and what to change instead.
const NOTHING_TO_DO = {
  send: (body) => [`No matching instance would take ${body.event.type}`,
    `send an event they accept now (an instance's page lists them), or change the filters`],
  retry: () => ["No step to retry", "filter by runtime status retrying to find the instances whose steps wait"],
  cancel: () => ["Nothing to cancel", "filter by status active to find the instances still running"],
};

/** The question for a count: how many match, how many the action will change, how many it
 * will skip and why (a dry run tells all three). */
function question(action, body, counted) {
  const scope = body.all ? "every instance of the tenant" : "the instances matching the filter";
  const n = counted.matched;
  const head = [h("strong", {}, String(n)), ` ${n === 1 ? "instance" : "instances"} (${scope}). `];
  const acting = counted.would_act;
  const skipped = counted.would_skip.reduce((sum, s) => sum + s.count, 0);
  const guarded = counted.guarded ? ` (${counted.guarded} only if their guards allow)` : "";
  // No preview (more match than one bulk may act on), or nothing to skip: as counted.
  if (acting === null || (skipped === 0 && !guarded)) {
    return [...head, `Really ${describe(action, body)} ${n === 1 ? "it" : "them"}?`];
  }
  return [
    ...head,
    h("span", { "data-testid": "bulk-acting" }, `${acting} ${willDo(action, body)}${guarded}`),
    skipped ? ", " : "",
    skipped ? h("span", { "data-testid": "bulk-skipping" }, `${skipped} will be skipped: ${skipsText(counted.would_skip)}`) : "",
    `. Really ${describe(action, body)} ${acting === 1 ? "that one" : `those ${acting}`}?`,
  ];
}

async function countBulk() {
  const action = $("bulk-action").value;
  replace($("bulk-result"));
  resetBulk();
  const mine = asked;
  const body = bulkBody(action);
  if (body === null) return bulkProblem("Searching by id", "a bulk action acts on the filters; clear the id search first");
  if (action === "send" && !body.event.type) return bulkProblem("No event", "type the event to send, e.g. APPROVE");
  try {
    const counted = await api(`/bulk/${action}`, { method: "POST", body });
    if (mine !== asked) return;
    if (counted.matched > 0 && counted.would_act === 0) {
      const [title, fix] = NOTHING_TO_DO[action](body);
      return bulkProblem(title, `of the ${counted.matched} matching: ${skipsText(counted.would_skip)}; ${fix}`);
    }
    const acting = counted.would_act ?? counted.matched;
    replace(
      $("bulk-confirm"),
      h("span", { "data-testid": "bulk-matched" }, question(action, body, counted)),
      h("button", {
        type: "button",
        class: action === "cancel" ? "sw-button sw-danger" : "sw-button sw-primary",
        "data-testid": "bulk-go",
        disabled: acting === 0,
        // With the count's as_of: the bulk acts on no instance changed since the count.
        onclick: () => runBulk(action, { ...body, dry_run: false, as_of: counted.as_of }, counted.matched),
      }, `Yes, ${action} ${acting}`),
      h("button", { type: "button", class: "sw-button", onclick: resetBulk }, "No"),
    );
    $("bulk-confirm").hidden = false;
  } catch (error) {
    if (mine === asked) replace($("bulk-result"), problemBox(error));
  }
}

// What a bulk did, against the count the user said yes to (`shown`): those changed since the
// count (a transition, or new in the filter) were left alone, and are said so.
function bulkDone(result, shown) {
  const changed = result.changed.length;
  let text = `${result.done.length} done, ${result.refused.length} refused (of ${shown} counted).`;
  if (changed) {
    text += ` ${changed} ${changed === 1 ? "instance" : "instances"} changed since the count ` +
      `(or entered the filter) and ${changed === 1 ? "was" : "were"} left alone.`;
  }
  return text;
}

async function runBulk(action, body, shown) {
  resetBulk();
  try {
    const result = await api(`/bulk/${action}`, { method: "POST", body });
    replace(
      $("bulk-result"),
      h("div", { class: "sw-note", "data-testid": "bulk-done" },
        bulkDone(result, shown),
        result.refused.length
          ? h("ul", { class: "sw-refused" }, result.refused.slice(0, 8).map((r) =>
              h("li", {}, h("a", { href: href(r.instance_id) }, r.instance_id), `: ${r.reason || r.detail}`)))
          : null),
    );
    reload();
  } catch (error) {
    replace($("bulk-result"), problemBox(error));
  }
}

// -- start -----------------------------------------------------------------------------------

async function start() {
  const [who, definitions] = await Promise.all([session(), api("/definitions")]);
  for (const d of definitions.items) form.elements.definition.append(h("option", { value: d.id }, d.id));
  readUrl();
  let typing = null;
  form.addEventListener("input", (changed) => {
    resetBulk(); // the question was about the filters as they were
    if (changed.target.tagName === "SELECT") return;
    typing = later(typing, reload, 350);
  });
  form.addEventListener("change", (changed) => {
    if (changed.target.tagName === "SELECT") reload();
  });
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    reload();
  });
  $("clear").addEventListener("click", clearFilters);
  $("more").addEventListener("click", () => loadPage({ append: true }));
  $("bulk-count").addEventListener("click", countBulk);
  closeConfirmOnEscape($("bulk-confirm"), resetBulk, $("bulk-count"));
  $("bulk-action").addEventListener("change", () => {
    $("bulk-event").hidden = $("bulk-action").value !== "send";
  });
  $("bulk-action").addEventListener("input", resetBulk);
  $("bulk-event").addEventListener("input", resetBulk);
  $("bulk").hidden = who.role === "viewer";
  live.on(onTransition);
  await reload();
}

start().catch((error) => replace($("problem"), problemBox(error)));

// An instance's history as a timeline: each transition (event, actor, from → to, when, how
// long the instance had been in the state it left), the failed step attempts between them,
// and long waits compressed into one marked gap instead of being drawn to scale.

import { eventKind, eventLabel, valueText } from "./chartvalue.js";
import { jsonTree } from "./jsontree.js";
import { el, msDuration, msTime } from "./ui.js";

/** A wait longer than this is drawn as a compressed gap. */
const LONG_WAIT_MS = 15 * 60 * 1000;

/** Transitions and failed attempts in one list, by time: an attempt never before the
 * transition that started its run (the engine's order). */
export function mergeHistory(history, attempts) {
  const startedAt = new Map(history.map((t) => [t.version, t.at]));
  const rows = history.map((t) => ({ kind: "transition", at: t.at, order: [t.at, t.version, 0], item: t }));
  for (const a of attempts || []) {
    const at = Math.max(a.ended_at, startedAt.get(a.started_version) ?? a.ended_at);
    rows.push({ kind: "attempt", at, order: [at, a.started_version, 1, a.attempt], item: a });
  }
  const cmp = (x, y) => {
    for (let i = 0; i < Math.max(x.length, y.length); i++) {
      const d = (x[i] ?? 0) - (y[i] ?? 0);
      if (d) return d;
    }
    return 0;
  };
  return rows.sort((a, b) => cmp(a.order, b.order));
}

function actorText(t) {
  if (t.actor) return t.actor;
  const kind = eventKind(t.event?.type);
  if (kind === "timer") return "timer (worker)";
  if (kind === "step-done" || kind === "step-error") return "step result (worker)";
  return "the engine";
}

function payloadOf(event) {
  if (!event) return null;
  const { type, ...rest } = event;
  return Object.values(rest).some((v) => v !== null && v !== undefined) ? rest : null;
}

function transitionRow(t, previous) {
  const type = t.event?.type;
  const kind = eventKind(type);
  const payload = payloadOf(t.event);
  const spent = previous ? t.at - previous.at : null;
  return el(
    "li",
    {
      class: `tl-entry tl-kind-${kind}`,
      "data-testid": "timeline-entry",
      "data-version": String(t.version),
      "data-event": type ?? "",
    },
    el("div", { class: "tl-time", title: msTime(t.at) }, msTime(t.at)),
    el("div", { class: "tl-dot" }),
    el(
      "div",
      { class: "tl-body" },
      el(
        "div",
        { class: "tl-head" },
        el("span", { class: "tl-event" }, eventLabel(type)),
        el("span", { class: "tl-version" }, `v${t.version}`),
        t.runtime_status && t.runtime_status !== "active"
          ? el("span", { class: "tl-runtime" }, t.runtime_status)
          : null,
      ),
      el(
        "div",
        { class: "tl-move" },
        t.from_value === null || t.from_value === undefined
          ? el("span", { class: "tl-to" }, valueText(t.to_value))
          : [
              el("span", { class: "tl-from" }, valueText(t.from_value)),
              el("span", { class: "tl-arrow" }, " → "),
              el("span", { class: "tl-to" }, valueText(t.to_value)),
            ],
        t.status && t.status !== "active" ? el("span", { class: "tl-status" }, ` (${t.status})`) : null,
      ),
      el(
        "div",
        { class: "tl-meta" },
        el("span", { class: "tl-actor" }, `by ${actorText(t)}`),
        spent !== null
          ? el("span", { class: "tl-spent" }, ` · after ${msDuration(spent)} in ${valueText(t.from_value)}`)
          : null,
      ),
      payload
        ? el("details", { class: "tl-payload" }, el("summary", {}, "fields"), jsonTree(payload, 1))
        : null,
    ),
  );
}

function attemptRow(a) {
  const took = a.started_at === null || a.started_at === undefined ? null : a.ended_at - a.started_at;
  return el(
    "li",
    {
      class: "tl-entry tl-attempt",
      "data-testid": "timeline-attempt",
      "data-version": String(a.started_version),
    },
    el("div", { class: "tl-time", title: msTime(a.ended_at) }, msTime(a.ended_at)),
    el("div", { class: "tl-dot" }),
    el(
      "div",
      { class: "tl-body" },
      el(
        "div",
        { class: "tl-head" },
        el("span", { class: "tl-event" }, `attempt ${a.attempt} of step ${a.invoke_id} failed`),
        el("span", { class: "tl-src" }, a.src),
      ),
      el("div", { class: "tl-error" }, `${a.error_type}: ${a.error_message}`),
      el(
        "div",
        { class: "tl-meta" },
        took === null ? "its worker was lost; taken over" : `ran ${msDuration(took)}`,
      ),
    ),
  );
}

function gapRow(ms, state) {
  return el(
    "li",
    { class: "tl-gap", "data-testid": "timeline-gap" },
    el("div", { class: "tl-time" }),
    el("div", { class: "tl-dot" }),
    el("div", { class: "tl-body" }, `⋯ ${msDuration(ms)} in ${valueText(state)}`),
  );
}

/** The timeline of `history` (oldest first) with `attempts` placed among it; the last row
 * says how long the instance has been in its current state (`.tl-now`, kept up to date by
 * `tick`). */
export function renderTimeline(history, attempts, { active = true, limit = Infinity, onShowAll = null } = {}) {
  const list = el("ol", { class: "timeline" });
  const rows = mergeHistory(history, attempts);
  const skipped = Math.max(0, rows.length - limit);
  if (skipped) {
    list.append(
      el(
        "li",
        { class: "tl-more" },
        el("div", { class: "tl-time" }),
        el("div", { class: "tl-dot" }),
        el(
          "div",
          { class: "tl-body" },
          el("button", { type: "button", class: "sw-button sw-small", "data-testid": "timeline-more", onclick: onShowAll }, `Show ${skipped} earlier entries`),
        ),
      ),
    );
  }
  let previous = null;
  rows.forEach((row, i) => {
    if (row.kind === "attempt") {
      if (i >= skipped) list.append(attemptRow(row.item));
      return;
    }
    const t = row.item;
    if (i >= skipped) {
      if (previous && t.at - previous.at > LONG_WAIT_MS) list.append(gapRow(t.at - previous.at, previous.to_value));
      list.append(transitionRow(t, previous));
    }
    previous = t;
  });
  if (previous && active) {
    list.append(
      el(
        "li",
        { class: "tl-now" },
        el("div", { class: "tl-time" }, "now"),
        el("div", { class: "tl-dot" }),
        el(
          "div",
          { class: "tl-body" },
          "in ",
          el("strong", {}, valueText(previous.to_value)),
          " ",
          el("span", { class: "tl-since", "data-since": String(previous.at) }, forNow(previous.at)),
        ),
      ),
    );
  }
  return list;
}

function forNow(at) {
  return `for ${msDuration(Date.now() - at)}`;
}

/** Refresh the relative times of a timeline ("for 3 min"). */
export function tick(list) {
  for (const node of list.querySelectorAll("[data-since]")) {
    node.textContent = forNow(Number(node.dataset.since));
  }
}

/** Mark the entry of `version` as the one the scrubber shows, and the later ones as future
 * (null: none marked, the live view). */
export function markScrub(list, version) {
  for (const node of list.querySelectorAll(".tl-entry, .tl-gap, .tl-now")) {
    const v = Number(node.dataset.version);
    node.classList.toggle("scrub-at", version !== null && node.dataset.testid === "timeline-entry" && v === version);
    node.classList.toggle(
      "scrub-future",
      version !== null && (node.classList.contains("tl-now") || (!Number.isNaN(v) && v > version)),
    );
  }
}

// The instance page's panels, each a function from API bodies to elements: business state,
// runtime status, timers, steps and context.

import { eventLabel, leafPaths, valueText } from "./chartvalue.js";
import { pill } from "./dom.js";
import { jsonTree } from "./jsontree.js";
import { countdown, el, msSince, msTime, panel, tagPill, tile } from "./ui.js";

const TIMER_DUE = "due: waiting for a worker";

/** The config of the state at `path` ("fulfilment.inventory") in a definition's config. */
export function stateConfig(config, path) {
  let node = config;
  for (const key of path.split(".")) {
    node = node?.states?.[key];
    if (!node) return null;
  }
  return node;
}

/** The business state: the value, the tags and descriptions of the active states. */
export function businessState(instance, config) {
  const tags = new Set();
  const notes = [];
  for (const path of leafPaths(instance.value)) {
    let node = config;
    for (const key of path.split(".")) {
      node = node?.states?.[key];
      for (const tag of node?.tags || []) tags.add(tag);
    }
    const leaf = stateConfig(config, path);
    if (leaf?.description) notes.push(leaf.description);
  }
  return tile(
    { class: "state-card", "data-testid": "business-state", "data-value": valueText(instance.value) },
    "Business state",
    el("div", { class: "state-value sw-state-text" }, valueText(instance.value), tags.size ? [" ", [...tags].map(tagPill)] : null),
    notes.map((n) => el("p", { class: "state-note" }, n)),
  );
}

/** The runtime status: snapshot status, runtime status, what it waits for, versions. */
export function runtimeStatus(instance) {
  return tile(
    { class: "state-card", "data-testid": "runtime-status", "data-status": instance.runtime_status },
    "Runtime status",
    el(
      "div",
      { class: "state-value" },
      pill(instance.runtime_status),
      instance.status !== "active" && instance.status !== instance.runtime_status ? [" ", pill(instance.status)] : null,
    ),
    instance.waiting_for ? el("p", { class: "state-note warn" }, `Waiting for ${instance.waiting_for}.`) : null,
    el(
      "div",
      { class: "facts" },
      el("span", {}, `version ${instance.version}`),
      el("span", { title: msTime(instance.updated_at) }, `updated ${msSince(instance.updated_at)}`),
      el("span", { title: msTime(instance.created_at) }, `started ${msSince(instance.created_at)}`),
    ),
  );
}

/** Pending timers, each with a live countdown (`[data-due]`, refreshed by `tickCountdowns`). */
export function timersPanel(timers) {
  return panel(
    { "data-testid": "timers" },
    "Timers",
    timers.length,
    timers.length === 0
      ? el("p", { class: "sw-muted" }, "No pending timers.")
      : el(
          "ul",
          { class: "rows" },
          timers.map((t) =>
            el(
              "li",
              { class: "row timer", "data-testid": "timer", "data-timer": t.timer_id },
              el(
                "div",
                { class: "row-line" },
                el("span", { class: "row-main" }, eventLabel(t.event?.type || t.timer_id)),
                el(
                  "span",
                  { class: "countdown", "data-due": String(t.due_at), "data-when": TIMER_DUE, "data-testid": "timer-countdown" },
                  countdown(t.due_at, TIMER_DUE),
                ),
              ),
              el("div", { class: "row-side sw-muted" }, `due ${msTime(t.due_at)}`),
            ),
          ),
        ),
  );
}

/** Unfinished steps: status, attempts, last error, next retry; a "Retry now" button on each
 * step waiting for its next attempt when `canAct` (calls `onRetry(step, button)`). */
export function stepsPanel(steps, { canAct, onRetry }) {
  return panel(
    { "data-testid": "steps" },
    "Steps",
    steps.length,
    steps.length === 0
      ? el("p", { class: "sw-muted" }, "No unfinished steps.")
      : el(
          "ul",
          { class: "rows" },
          steps.map((s) =>
            el(
              "li",
              { class: "row step", "data-testid": "step", "data-step": s.invoke_id, "data-status": s.status },
              el(
                "div",
                { class: "row-line" },
                el("span", { class: "row-main" }, el("code", {}, s.invoke_id), " ", el("span", { class: "sw-muted" }, s.src)),
                pill(s.status),
                el("span", { class: "attempts", title: "attempts made / allowed", "data-testid": "step-attempts" }, `${s.attempts} / ${s.max_attempts ?? "∞"} attempts`),
                canAct && s.status === "retrying"
                  ? el(
                      "button",
                      { type: "button", class: "sw-button sw-small", "data-testid": `step-retry-${s.invoke_id}`, onclick: (e) => onRetry(s, e.currentTarget) },
                      "Retry now",
                    )
                  : null,
              ),
              s.last_error ? el("div", { class: "step-error" }, s.last_error) : null,
              s.status === "retrying"
                ? el(
                    "div",
                    { class: "sw-muted" },
                    "next attempt ",
                    el("span", { class: "countdown", "data-due": String(s.next_attempt_at) }, countdown(s.next_attempt_at)),
                    ` · ${msTime(s.next_attempt_at)}`,
                  )
                : null,
              s.status === "running" && s.lease_until ? el("div", { class: "sw-muted" }, `running; lease until ${msTime(s.lease_until)}`) : null,
              el("div", { class: "step-problem" }),
            ),
          ),
        ),
  );
}

/** The context (and output, once done) as trees; withheld for tokens without payloads. */
export function contextPanel(instance) {
  const body = instance.payloads_withheld
    ? el("p", { class: "sw-muted", "data-testid": "context-withheld" }, "Hidden: this token may not view payloads (it was made with --no-payloads).")
    : [
        jsonTree(instance.context ?? null, 2),
        instance.output !== null && instance.output !== undefined ? [el("h3", {}, "Output"), jsonTree(instance.output, 2)] : null,
      ];
  return panel({ "data-testid": "context" }, "Context", null, body);
}

/** Refresh every `[data-due]` countdown under `root`. */
export function tickCountdowns(root) {
  for (const node of root.querySelectorAll("[data-due]")) {
    node.textContent = countdown(Number(node.dataset.due), node.dataset.when || "due now");
  }
}

// The instance page's actions: one button per event the instance accepts now and the
// session may send, each opening a form built from the event's schema; cancelling the
// instance. A refused action shows the server's problem detail, and nothing is pretended.

import { api } from "./api.js";
import { valueText } from "./chartvalue.js";
import { problemBox } from "./dom.js";
import { schemaForm } from "./schemaform.js";
import { el, fill, newKey, tile } from "./ui.js";

const SENDERS = new Set(["operator", "admin"]);
/** How to close the form open in a slot: the newest actions bar's way (a form kept open
 * outlives the bar that opened it). */
const closers = new WeakMap();

function targetsText(event) {
  if (!event.targets?.length) return "stays in its state";
  return "→ " + event.targets.map((t) => t.split(".").slice(1).join(".") || t).join(", ");
}

/** Escape in `form` closes it, as Close does. */
function closeOnEscape(form, close) {
  form.addEventListener("keydown", (pressed) => {
    if (pressed.key !== "Escape") return;
    pressed.preventDefault();
    close();
  });
}

/** A form to send `event` (an entry of `/accepted`'s `events`) to the instance. */
function eventForm(ctx, event, close) {
  const form = schemaForm(event.schema);
  const problem = el("div", { class: "problem-slot", "data-testid": "action-problem" });
  const send = el("button", { type: "submit", class: "sw-button sw-primary", "data-testid": "event-send" }, `Send ${event.type}`);
  const cancel = el("button", { type: "button", class: "sw-button" }, "Close");
  // One key per request made: a resend after a lost answer is made once; a refused request
  // is kept under its key, so the corrected one goes under a new key.
  let key = newKey();
  const node = el(
    "form",
    { class: "action-form", "data-testid": "event-form", "data-event": event.type, novalidate: true },
    el(
      "div",
      { class: "action-form-head" },
      el("strong", {}, event.type),
      el("span", { class: "sw-muted" }, ` ${targetsText(event)}`),
      event.guarded ? el("span", { class: "sw-muted" }, " · a guard decides") : null,
      event.roles ? el("span", { class: "sw-muted" }, ` · roles: ${event.roles.join(", ")}`) : null,
    ),
    form.node,
    problem,
    el("div", { class: "action-form-buttons" }, send, cancel),
  );
  cancel.addEventListener("click", close);
  closeOnEscape(node, close);
  node.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    fill(problem);
    form.showErrors([]);
    let fields;
    try {
      fields = form.collect();
    } catch (error) {
      form.showErrors([{ path: error.field ?? "", message: error.message }]);
      return;
    }
    send.disabled = true;
    try {
      const entry = await api(`/instances/${encodeURIComponent(ctx.id)}/events`, {
        method: "POST",
        body: { ...fields, type: event.type },
        headers: { "If-Match": `"${ctx.version()}"`, "Idempotency-Key": key },
      });
      close();
      ctx.done(`${event.type} sent`, entry);
    } catch (error) {
      send.disabled = false;
      if (error.status) key = newKey();
      if (error.status === 412 || error.status === 409) return ctx.refused(error);
      if (error.problem?.errors) form.showErrors(error.problem.errors);
      fill(problem, problemBox(error));
    }
  });
  return node;
}

/** A form to cancel the instance, with an optional reason. */
function cancelForm(ctx, close) {
  const reason = el("input", { type: "text", id: "cancel-reason", "data-field": "reason", placeholder: "why (kept in the history)" });
  const problem = el("div", { class: "problem-slot", "data-testid": "action-problem" });
  const send = el("button", { type: "submit", class: "sw-button sw-danger", "data-testid": "cancel-send" }, "Stop instance");
  const back = el("button", { type: "button", class: "sw-button" }, "Close");
  let key = newKey();
  const node = el(
    "form",
    { class: "action-form", "data-testid": "cancel-form" },
    el("div", { class: "action-form-head" }, el("strong", {}, "Stop the instance"), el("span", { class: "sw-muted" }, " (cancel: status stopped; its timers and steps are cancelled)")),
    el("div", { class: "form-field" }, el("label", { for: "cancel-reason" }, "Reason"), reason),
    problem,
    el("div", { class: "action-form-buttons" }, send, back),
  );
  back.addEventListener("click", close);
  closeOnEscape(node, close);
  node.addEventListener("submit", async (submitted) => {
    submitted.preventDefault();
    send.disabled = true;
    try {
      const entry = await api(`/instances/${encodeURIComponent(ctx.id)}/cancel`, {
        method: "POST",
        body: reason.value.trim() ? { reason: reason.value.trim() } : {},
        headers: { "If-Match": `"${ctx.version()}"`, "Idempotency-Key": key },
      });
      close();
      ctx.done("stopped", entry);
    } catch (error) {
      send.disabled = false;
      if (error.status) key = newKey();
      if (error.status === 412 || error.status === 409) return ctx.refused(error);
      fill(problem, problemBox(error));
    }
  });
  return node;
}

/** What the actions bar shows: the caller rebuilds it (closing an open form) only when this
 * changes, so a form being filled in survives updates that leave the choices as they were. */
export function actionsKey(accepted, instance, me) {
  const events = (accepted?.events || []).map((e) => [e.type, e.allowed, e.wildcard]);
  return JSON.stringify([instance.status, me.role, events]);
}

/** What was typed in `form`'s fields, as text ("resolution: wontfix, minutes: 5"). */
function typedText(form) {
  const typed = [];
  for (const control of form.querySelectorAll("[data-field]")) {
    const name = control.dataset.field;
    const value = control.type === "checkbox" ? String(control.checked) : control.tagName === "SELECT" ? control.selectedOptions[0]?.textContent : control.value.trim();
    if (value && value !== "—" && !control.readOnly) typed.push(`${name}: ${value}`);
  }
  return typed.join(", ");
}

/** The form open in `slot` if the instance still takes what it sends (its event is still
 * accepted, or it may still be stopped); else close it, saying why: `ctx.notify` keeps the
 * reason, and what was typed, in sight. Returns the kept form's name ("cancel" or the event
 * type), or null. */
function keepOpenForm(ctx, slot, instance, sendable, mayCancel) {
  const form = slot.querySelector("form");
  if (!form) return null;
  const name = form.dataset.testid === "cancel-form" ? "cancel" : form.dataset.event;
  const stays = name === "cancel" ? mayCancel : sendable.some((e) => e.type === name);
  if (stays) return name;
  const now = instance.status === "active" ? `now in ${valueText(instance.value)}` : `now ${instance.status}, in ${valueText(instance.value)}`;
  const typed = typedText(form);
  fill(slot);
  ctx.notify({
    title: "The form was closed",
    detail:
      `This instance changed (${now}); ` +
      (name === "cancel" ? "it can no longer be stopped." : `${name} is no longer accepted.`) +
      (typed ? ` What was typed: ${typed}.` : ""),
  });
  return null;
}

/** The actions bar. `ctx`: `{id, version(), refused(error), notify(problem), done(message,
 * entry)}`: a refusal because the instance changed meanwhile (409, 412) goes to `refused`,
 * which reads it again and keeps the reason in sight; `accepted`: the `/accepted` body; `me`:
 * the session; `slot`: where a button's form opens. A form open there stays open, as it was
 * filled in, while the instance still takes what it sends; else it is closed and `notify`
 * says why. */
export function actionsBar(ctx, accepted, instance, me, slot) {
  const sendable = (accepted?.events || []).filter((e) => e.allowed && !e.wildcard);
  const mayAct = SENDERS.has(me.role);
  const mayCancel = mayAct && instance.status === "active";
  const kept = keepOpenForm(ctx, slot, instance, sendable, mayCancel);
  const buttons = el("div", { class: "action-buttons" });
  let opener = null; // the button whose form is open: the focus goes back to it on close
  const close = () => {
    const focused = slot.contains(document.activeElement);
    fill(slot);
    for (const b of buttons.querySelectorAll("button")) b.classList.remove("active");
    if (focused && opener?.isConnected) opener.focus();
  };
  closers.set(slot, close);
  const closeOpen = () => closers.get(slot)();
  const open = (make, button) => {
    close();
    opener = button;
    button.classList.add("active");
    fill(slot, make());
    slot.querySelector("input, select, textarea, button[type=submit]")?.focus();
  };
  for (const event of sendable) {
    const button = el("button", { type: "button", class: `sw-button btn-event${kept === event.type ? " active" : ""}`, "data-testid": `event-button-${event.type}` }, event.type);
    button.addEventListener("click", () => open(() => eventForm(ctx, event, closeOpen), button));
    if (kept === event.type) opener = button;
    buttons.append(button);
  }
  if (mayCancel) {
    const button = el(
      "button",
      { type: "button", class: `sw-button btn-quiet${kept === "cancel" ? " active" : ""}`, "data-testid": "cancel-button", title: "Cancel the instance: it stops, its timers and steps are cancelled" },
      "Stop instance…",
    );
    button.addEventListener("click", () => open(() => cancelForm(ctx, closeOpen), button));
    if (kept === "cancel") opener = button;
    buttons.append(button);
  }
  const others = (accepted?.events || []).filter((e) => !e.allowed || e.wildcard).map((e) => e.type);
  const accepts = accepted?.events?.length ?? 0;
  const note =
    instance.status !== "active"
      ? `Finished (${instance.status}): it accepts no events.`
      : accepts === 0
        ? "It accepts no events now."
        : !mayAct
          ? `Your role (${me.role}) may not send events.`
          : sendable.length === 0
            ? "No event it accepts now is yours to send."
            : null;
  return tile(
    { class: "actions", "data-testid": "actions" },
    "Actions",
    el(
      "div",
      { class: "action-line" },
      buttons,
      note ? el("span", { class: "sw-muted", "data-testid": "actions-note" }, note) : null,
      others.length && mayAct ? el("span", { class: "sw-muted small" }, `also accepted, not yours to send: ${others.join(", ")}`) : null,
    ),
  );
}

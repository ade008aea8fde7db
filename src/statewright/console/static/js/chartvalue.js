// Statechart values as the console shows them: the active state paths of a value (for the
// diagram's highlight and counts), and a value as one line of text.

/** Every active state path of `value`, ancestors first: "payment", or for a parallel state
 * "fulfilment", "fulfilment.inventory", "fulfilment.inventory.reserving", ... */
export function activePaths(value, prefix = "") {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return [prefix + value];
  const paths = [];
  for (const [key, child] of Object.entries(value)) {
    const path = prefix + key;
    paths.push(path, ...activePaths(child, path + "."));
  }
  return paths;
}

/** The atomic (deepest) active state paths of `value`: one per parallel region. */
export function leafPaths(value, prefix = "") {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return [prefix + value];
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, prefix + key + "."));
}

/** The state path the instance list filters `value` by: the value's path down to its first
 * parallel state (a filter names one state; a parallel value is in several). */
export function filterPath(value, prefix = "") {
  if (typeof value === "string") return prefix + value;
  const entries = Object.entries(value || {});
  if (entries.length !== 1) return prefix.replace(/\.$/, "");
  const [key, child] = entries[0];
  return filterPath(child, `${prefix}${key}.`);
}

/** A value as text: "payment", "review.legal", "fulfilment (inventory.reserving, shipping.preparing)". */
export function valueText(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "string") return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, child] = entries[0];
    const inner = valueText(child);
    return inner.startsWith("(") ? `${key} ${inner}` : `${key}.${inner}`;
  }
  return "(" + entries.map(([key, child]) => `${key}.${valueText(child)}`).join(", ") + ")";
}

/** A function from a state path ("fulfilment.inventory") to the diagram's state id. The
 * diagram model lists its states flat, each with its `key` and `parent` id (the root's
 * parent null); a path it does not list falls back to XState's default id,
 * "<machine id>.<path>". */
export function stateIds(model, machineId) {
  const byPath = new Map();
  const states = new Map((model?.states || []).map((s) => [s.id, s]));
  const pathOf = (state, depth = 0) => {
    if (!state || state.parent === null || state.parent === undefined || depth > 100) return "";
    const above = pathOf(states.get(state.parent), depth + 1);
    return above ? `${above}.${state.key}` : state.key;
  };
  for (const state of states.values()) {
    const path = pathOf(state);
    if (path) byPath.set(path, state.id);
  }
  return (path) => byPath.get(path) ?? `${machineId}.${path}`;
}

/** What an event type means to an operator: "APPROVE", "timer after 48h", "payment done". */
export function eventLabel(type) {
  if (!type) return "?";
  if (type === "xstate.init") return "started";
  if (type === "xstate.stop") return "cancelled";
  let m = /^xstate\.after\.([^.]+)\./.exec(type);
  if (m) return `timer: after ${m[1]}`;
  m = /^xstate\.done\.actor\.(.+)$/.exec(type);
  if (m) return `step ${m[1]} done`;
  m = /^xstate\.error\.actor\.(.+)$/.exec(type);
  if (m) return `step ${m[1]} failed`;
  return type;
}

/** The kind of an event for styling: "start", "timer", "step-done", "step-error", "stop",
 * "event". */
export function eventKind(type) {
  if (type === "xstate.init") return "start";
  if (type === "xstate.stop") return "stop";
  if (type?.startsWith("xstate.after.")) return "timer";
  if (type?.startsWith("xstate.done.actor.")) return "step-done";
  if (type?.startsWith("xstate.error.actor.")) return "step-error";
  return "event";
}

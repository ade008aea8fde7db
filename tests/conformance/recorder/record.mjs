// Records the expected conformance traces by running every case in XState v5 itself.
//
//   cd tests/conformance/recorder && npm install && node record.mjs [case-name ...]
//   node record.mjs --cases DIR --expected DIR [case-name ...]   (other folders, e.g. the fuzzer's)
//
// Reads ../cases/*.json, translates statewright's JSON dialect into an XState config
// (see ../README.md), runs each case with a SimulatedClock and writes ../expected/<name>.json.
// Output is canonical (sorted keys inside data, 2-space indent, trailing newline), so
// re-recording an unchanged corpus produces no diff.

import { readdirSync, readFileSync, writeFileSync, mkdirSync, unlinkSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  setup,
  createActor,
  SimulatedClock,
  assign,
  raise,
  cancel,
  emit,
  and,
  or,
  not,
  stateIn,
  fromPromise
} from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';

const here = dirname(fileURLToPath(import.meta.url));

/** `--cases DIR` and `--expected DIR` replace the corpus folders; the other arguments name cases. */
function parseArgs(argv) {
  const options = { cases: join(here, '..', 'cases'), expected: join(here, '..', 'expected') };
  const names = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i].match(/^--(cases|expected)(?:=(.*))?$/);
    if (!flag) {
      names.push(argv[i]);
      continue;
    }
    const value = flag[2] ?? argv[++i];
    if (!value) throw new Error(`record.mjs: --${flag[1]} needs a folder`);
    options[flag[1]] = value;
  }
  return { ...options, names };
}

const args = parseArgs(process.argv.slice(2));
const casesDir = args.cases;
const expectedDir = args.expected;

// ---------------------------------------------------------------------------------------
// The shared implementation library (mirrored by tests/conformance/library.py).

/** Custom actions run during the current step, in order. */
let LOG = [];

/**
 * A JSON-shaped deep copy with JSON.stringify's treatment of undefined: an object key whose
 * value is undefined is left out (XState's done event of a final state without output has
 * `output: undefined`), undefined elsewhere becomes null.
 */
function plain(value) {
  if (value === undefined || value === null) return null;
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, plain(v)])
    );
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`recorder: non-finite number ${value}`);
  }
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
    throw new Error(`recorder: ${typeof value} is not JSON data`);
  }
  return value;
}

/** Names the library implements itself; every other action name only records. */
const LIBRARY_ACTIONS = {
  snap: ({ context }) => {
    LOG.push({ type: 'snap', context: plain(context) });
  },
  boom: () => {
    throw new Error('boom');
  },
  inc: assign({ count: ({ context }) => (context.count ?? 0) + 1 })
};

const recording = (name) => (_args, params) => {
  LOG.push(params === undefined ? name : { type: name, params: plain(params) });
};

const GUARDS = {
  yes: () => true,
  no: () => false,
  ctxTrue: ({ context }, params) => Boolean(context[params.key]),
  evtTrue: ({ event }, params) => Boolean(event[params.key]),
  countLt: ({ context }, params) => (context.count ?? 0) < params.n,
  countGte: ({ context }, params) => (context.count ?? 0) >= params.n,
  explode: () => {
    throw new Error('explode');
  }
};

/** Params each parameterised guard requires. */
const GUARD_PARAMS = { ctxTrue: ['key'], evtTrue: ['key'], countLt: ['n'], countGte: ['n'] };

const DELAYS = {
  short: 100,
  long: 1000,
  fromCtx: ({ context }) => context.delay
};

const ACTORS = {
  succeed: fromPromise(async ({ input }) => input),
  fail: fromPromise(async () => {
    throw { message: 'failed' };
  }),
  never: fromPromise(() => new Promise(() => {}))
};

// Names statewright treats as built-ins: a case must not use them as library actions.
const RESERVED_ACTIONS = new Set(['assign', 'raise', 'cancel', 'emit', 'log']);

// ---------------------------------------------------------------------------------------
// Expressions: {"$expr": "<dotted path rooted at context | event | input>"}.

/** Paths that went through a missing value while the current case ran. */
let PATH_FAULTS = [];

const isObject = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const isExpr = (x) => isObject(x) && Object.keys(x).length === 1 && typeof x.$expr === 'string';

function containsExpr(value) {
  if (isExpr(value)) return true;
  if (Array.isArray(value)) return value.some(containsExpr);
  if (isObject(value)) return Object.values(value).some(containsExpr);
  return false;
}

const PATH = /^(context|event|input)(\.[A-Za-z_$][\w$]*)*$/;

/**
 * Checks every $expr path in a data value when the case is translated: an error thrown while
 * XState runs would be caught by XState and silently recorded as status "error".
 */
function checkExprs(value, roots, where) {
  if (isExpr(value)) {
    const path = value.$expr;
    if (!PATH.test(path)) {
      throw new Error(`recorder: ${where}: only dotted paths rooted at ${roots}: ${path}`);
    }
    if (!roots.includes(path.split('.')[0])) {
      throw new Error(`recorder: ${where}: '${path}' cannot be read here (only ${roots})`);
    }
  } else if (Array.isArray(value)) {
    value.forEach((v) => checkExprs(v, roots, where));
  } else if (isObject(value)) {
    Object.values(value).forEach((v) => checkExprs(v, roots, where));
  }
}

function readPath(path, scope) {
  const [root, ...keys] = path.split('.');
  let current = scope[root];
  for (const key of keys) {
    if (current === null || current === undefined || typeof current !== 'object') {
      // JavaScript would throw here and statewright's expressions fail too; the corpus only
      // lets the last segment be missing. Reported after the case (see runCase).
      PATH_FAULTS.push(path);
      return null;
    }
    current = Object.prototype.hasOwnProperty.call(current, key) ? current[key] : undefined;
  }
  return plain(current);
}

/** Deep-resolves every {"$expr"} in a data value against scope. */
function resolve(value, scope) {
  if (isExpr(value)) return readPath(value.$expr, scope);
  if (Array.isArray(value)) return value.map((v) => resolve(v, scope));
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolve(v, scope)]));
  }
  return value;
}

/** A literal stays a literal; data containing $expr becomes ({context, event}) => data. */
function dynamic(value) {
  if (!containsExpr(value)) return value;
  checkExprs(value, ['context', 'event'], JSON.stringify(value));
  return ({ context, event }) => resolve(value, { context, event });
}

// ---------------------------------------------------------------------------------------
// Translation of statewright's JSON dialect into an XState config.

function translateAction(action, used) {
  if (typeof action === 'string') {
    if (RESERVED_ACTIONS.has(action)) throw new Error(`recorder: bare built-in '${action}'`);
    used.actions.add(action);
    return action;
  }
  if (!isObject(action) || typeof action.type !== 'string') {
    throw new Error(`recorder: bad action ${JSON.stringify(action)}`);
  }
  const params = action.params;
  if ('params' in action && !isObject(params)) {
    throw new Error(`recorder: params of '${action.type}' must be an object`);
  }
  switch (action.type) {
    case 'assign': {
      checkExprs(params, ['context', 'event'], 'assign');
      return assign(({ context, event }) => resolve(params, { context, event }));
    }
    case 'raise': {
      const options = {};
      if (typeof params.delay === 'string') used.delays.add(params.delay);
      if (params.delay !== undefined) options.delay = params.delay;
      if (params.id !== undefined) options.id = params.id;
      return raise(dynamic(params.event), options);
    }
    case 'cancel':
      return cancel(params.id);
    case 'emit':
      return emit(dynamic(params.event));
    case 'log':
      throw new Error("recorder: statewright's 'log' built-in is not part of the corpus");
    default:
      used.actions.add(action.type);
      return params === undefined
        ? { type: action.type }
        : { type: action.type, params: dynamic(params) };
  }
}

function translateActions(actions, used) {
  if (actions === undefined) return undefined;
  return Array.isArray(actions)
    ? actions.map((a) => translateAction(a, used))
    : translateAction(actions, used);
}

function translateGuard(guard, used) {
  if (typeof guard === 'string') {
    if (GUARD_PARAMS[guard]) throw new Error(`recorder: guard '${guard}' needs params`);
    used.guards.add(guard);
    return guard;
  }
  if (isObject(guard)) {
    if ('and' in guard) return and(guard.and.map((g) => translateGuard(g, used)));
    if ('or' in guard) return or(guard.or.map((g) => translateGuard(g, used)));
    if ('not' in guard) return not(translateGuard(guard.not, used));
    if (guard.type === 'xstate.stateIn') return translateStateIn(guard);
    if (typeof guard.type === 'string') {
      used.guards.add(guard.type);
      for (const key of GUARD_PARAMS[guard.type] ?? []) {
        if (!isObject(guard.params) || !(key in guard.params)) {
          throw new Error(`recorder: guard '${guard.type}' needs params.${key}`);
        }
      }
      return guard.params === undefined
        ? { type: guard.type }
        : { type: guard.type, params: dynamic(guard.params) };
    }
  }
  throw new Error(`recorder: bad guard ${JSON.stringify(guard)}`);
}

/**
 * {"type": "xstate.stateIn", "params": {"state": "#id" | "a.b" | {"a": "b"}}} becomes XState's
 * stateIn(state): an id tests the active states, anything else matches the state value.
 */
function translateStateIn(guard) {
  const params = guard.params;
  if (!isObject(params) || Object.keys(params).join() !== 'state') {
    throw new Error(`recorder: xstate.stateIn takes params {"state": ...}: ${JSON.stringify(guard)}`);
  }
  const state = params.state;
  if (!(typeof state === 'string' && state) && !isObject(state)) {
    throw new Error(`recorder: xstate.stateIn state must be "#id", "a.b" or an object`);
  }
  if (containsExpr(state)) throw new Error('recorder: xstate.stateIn takes a literal state');
  return stateIn(state);
}

// Keys the recorder knows how to translate; anything else is a mistake in a case.
const NODE_KEYS = new Set([
  'id', 'type', 'initial', 'context', 'states', 'history', 'target', 'on', 'after', 'always',
  'entry', 'exit', 'invoke', 'onDone', 'output', 'tags', 'meta', 'description'
]);
const TRANSITION_KEYS = new Set(['target', 'guard', 'actions', 'reenter', 'description', 'meta']);
const INVOKE_KEYS = new Set(['src', 'id', 'input', 'onDone', 'onError']);

function checkKeys(object, allowed, what) {
  for (const key of Object.keys(object)) {
    if (!allowed.has(key)) throw new Error(`recorder: unknown ${what} key '${key}'`);
  }
}

function translateTransition(transition, used) {
  if (typeof transition === 'string' || transition === undefined) return transition;
  if (Array.isArray(transition)) return transition.map((t) => translateTransition(t, used));
  if (!isObject(transition)) throw new Error(`recorder: bad transition ${JSON.stringify(transition)}`);
  checkKeys(transition, TRANSITION_KEYS, 'transition');
  const out = { ...transition };
  if ('guard' in out) out.guard = translateGuard(out.guard, used);
  if ('actions' in out) out.actions = translateActions(out.actions, used);
  return out;
}

function translateTransitionMap(map, used) {
  return Object.fromEntries(
    Object.entries(map).map(([key, t]) => [key, translateTransition(t, used)])
  );
}

function translateInvoke(invoke, used) {
  checkKeys(invoke, INVOKE_KEYS, 'invoke');
  const out = { ...invoke };
  used.actors.add(out.src);
  if ('input' in out) out.input = dynamic(out.input);
  for (const key of ['onDone', 'onError']) {
    if (key in out) out[key] = translateTransition(out[key], used);
  }
  return out;
}

function translateNode(node, used, isRoot) {
  checkKeys(node, NODE_KEYS, 'state node');
  if (!isRoot && 'context' in node) throw new Error('recorder: context on a non-root state');
  const out = { ...node };
  for (const key of ['entry', 'exit']) {
    if (key in out) out[key] = translateActions(out[key], used);
  }
  for (const key of ['on', 'after']) {
    if (key in out) out[key] = translateTransitionMap(out[key], used);
  }
  if ('after' in out) {
    for (const delay of Object.keys(out.after)) {
      if (Number.isNaN(+delay)) used.delays.add(delay);
    }
  }
  if ('always' in out) out.always = translateTransition(out.always, used);
  if ('onDone' in out) out.onDone = translateTransition(out.onDone, used);
  if ('invoke' in out) {
    out.invoke = Array.isArray(out.invoke)
      ? out.invoke.map((i) => translateInvoke(i, used))
      : translateInvoke(out.invoke, used);
  }
  if (isObject(out.initial)) {
    out.initial = { ...out.initial };
    if ('actions' in out.initial) out.initial.actions = translateActions(out.initial.actions, used);
  }
  if ('output' in out) out.output = dynamic(out.output);
  if (isRoot && 'context' in out && containsExpr(out.context)) {
    const context = out.context;
    checkExprs(context, ['input'], 'context');
    out.context = ({ input }) => resolve(context, { input: input === undefined ? null : input });
  }
  if ('states' in out) {
    out.states = Object.fromEntries(
      Object.entries(out.states).map(([key, child]) => {
        if (/^\d+$/.test(key)) throw new Error(`recorder: numeric-looking state key '${key}'`);
        return [key, translateNode(child, used, false)];
      })
    );
  }
  return out;
}

function buildMachine(config) {
  const used = { actions: new Set(), guards: new Set(), actors: new Set(), delays: new Set() };
  const translated = translateNode(config, used, true);
  const actions = {};
  for (const name of used.actions) {
    if (RESERVED_ACTIONS.has(name)) throw new Error(`recorder: '${name}' is a built-in`);
    actions[name] = LIBRARY_ACTIONS[name] ?? recording(name);
  }
  for (const name of used.guards) {
    if (!(name in GUARDS)) throw new Error(`recorder: unknown guard '${name}'`);
  }
  for (const name of used.actors) {
    if (!(name in ACTORS)) throw new Error(`recorder: unknown actor '${name}'`);
  }
  for (const name of used.delays) {
    if (!(name in DELAYS)) throw new Error(`recorder: unknown delay '${name}'`);
  }
  return setup({ actions, guards: GUARDS, delays: DELAYS, actors: ACTORS }).createMachine(
    translated
  );
}

// ---------------------------------------------------------------------------------------
// Running a case.

/**
 * Lets every pending promise settle: a few microtask turns, then one macrotask (a real
 * setTimeout, not the SimulatedClock). A macrotask only runs once the microtask queue is
 * empty, so chains of promise actors started by promise results settle too.
 */
async function settle() {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}

/** Recursively sorts object keys (after plain(): JSON data only). */
function sortKeys(value) {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
    return out;
  }
  return value;
}

const canonical = (value) => sortKeys(plain(value));

function trace(snapshot, log, emitted) {
  const T = {
    value: canonical(snapshot.value),
    context: canonical(snapshot.context),
    status: snapshot.status,
    output: canonical(snapshot.output),
    log: canonical(log),
    emitted: canonical(emitted)
  };
  if (!['active', 'done', 'error', 'stopped'].includes(T.status)) {
    throw new Error(`recorder: unexpected status ${T.status}`);
  }
  return T;
}

/**
 * The `{"restore": true}` step: persist the actor as an application would
 * (`getPersistedSnapshot()`, through JSON text), stop it, and carry on with a new actor
 * created from that snapshot on the same clock, subscribed the same way. Returns the new actor.
 * The runner does the same with `Actor.from_snapshot` (see ../README.md).
 */
async function restoreActor(actor, machine, clock, testCase, observe) {
  const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
  actor.stop();
  const options = { snapshot: persisted, clock };
  if ('input' in testCase) options.input = testCase.input;
  const restored = createActor(machine, options);
  observe(restored);
  restored.start();
  return restored;
}

async function runCase(testCase) {
  PATH_FAULTS = [];
  const machine = buildMachine(testCase.machine);
  const clock = new SimulatedClock();
  const options = { clock };
  if ('input' in testCase) options.input = testCase.input;
  let actor = createActor(machine, options);
  let emitted = [];
  // An error observer: XState rethrows unobserved errors asynchronously. Only the library's
  // deliberate failures may put a case in error; anything else is a recorder or case bug.
  const unexpected = [];
  const observe = (target) => {
    target.on('*', (event) => emitted.push(plain(event)));
    target.subscribe({
      error: (err) => {
        const deliberate =
          err?.message === 'boom' ||
          err?.message === 'explode' ||
          /guard 'explode'/.test(err?.message ?? '') ||
          (isObject(err) && err.message === 'failed' && Object.keys(err).length === 1);
        if (!deliberate) unexpected.push(err);
      }
    });
  };
  observe(actor);

  LOG = [];
  actor.start();
  await settle();
  const initial = trace(actor.getSnapshot(), LOG, emitted);

  const steps = [];
  for (const step of testCase.steps ?? []) {
    LOG = [];
    emitted = [];
    if ('send' in step) {
      actor.send(step.send);
    } else if ('advance' in step) {
      clock.increment(step.advance);
    } else if (step.restore === true) {
      actor = await restoreActor(actor, machine, clock, testCase, observe);
    } else {
      throw new Error(`recorder: unknown step ${JSON.stringify(step)}`);
    }
    await settle();
    steps.push(trace(actor.getSnapshot(), LOG, emitted));
  }
  if (unexpected.length) {
    throw new Error(`recorder: unexpected error in XState: ${unexpected[0]?.stack ?? unexpected[0]}`);
  }
  if (PATH_FAULTS.length) {
    throw new Error(`recorder: paths through a missing value: ${[...new Set(PATH_FAULTS)]}`);
  }
  return { initial, steps };
}


// ---------------------------------------------------------------------------------------
// Test paths (`xstate/graph`), for cases with a "paths" key:
//
//   "paths": {"events": [<event>, ...], "simple": true?, "to": "<state value>"?}
//
// getShortestPaths (and getSimplePaths when "simple") explore the machine with these events
// sent in every state, from the initial state of the case's input. Recorded as the reached
// states with path lengths, sorted: XState's order among paths (and its choice among equally
// short ones) is unspecified, so only the set is pinned. XState keys a state by value and
// context; so does the runner (serialize="xstate").

const PATHS_KEYS = new Set(['events', 'simple', 'to']);

function recordPaths(testCase) {
  const spec = testCase.paths;
  if (!isObject(spec)) throw new Error('recorder: "paths" must be an object');
  checkKeys(spec, PATHS_KEYS, 'paths');
  if (!Array.isArray(spec.events) || !spec.events.every((e) => isObject(e) && typeof e.type === 'string')) {
    throw new Error('recorder: paths.events must be a list of events with a string type');
  }
  PATH_FAULTS = [];
  const machine = buildMachine(testCase.machine);
  const options = { events: spec.events };
  if ('input' in testCase) options.input = testCase.input;
  if (typeof spec.to === 'string') options.toState = (snapshot) => snapshot.matches(spec.to);
  const summary = (paths) =>
    paths
      .map((path) => ({
        value: canonical(path.state.value),
        context: canonical(path.state.context),
        length: path.weight
      }))
      .sort((a, b) => {
        const [x, y] = [JSON.stringify(a), JSON.stringify(b)];
        return x < y ? -1 : x > y ? 1 : 0;
      });
  const recorded = { shortest: summary(getShortestPaths(machine, options)) };
  if (spec.simple) recorded.simple = summary(getSimplePaths(machine, options));
  if (PATH_FAULTS.length) {
    throw new Error(`recorder: paths through a missing value: ${[...new Set(PATH_FAULTS)]}`);
  }
  return recorded;
}

// ---------------------------------------------------------------------------------------

function validateCase(name, testCase) {
  const allowed = new Set(['description', 'machine', 'input', 'steps', 'paths']);
  for (const key of Object.keys(testCase)) {
    if (!allowed.has(key)) throw new Error(`${name}: unknown case key '${key}'`);
  }
  if (typeof testCase.description !== 'string' || !testCase.description) {
    throw new Error(`${name}: a case needs a one-line description`);
  }
  if (!isObject(testCase.machine)) throw new Error(`${name}: machine must be an object`);
}

async function main() {
  const only = new Set(args.names.map((n) => basename(n, '.json')));
  const files = readdirSync(casesDir)
    .filter((f) => f.endsWith('.json'))
    .filter((f) => only.size === 0 || only.has(basename(f, '.json')))
    .sort();
  mkdirSync(expectedDir, { recursive: true });
  if (only.size === 0) {
    // Drop the traces of cases that no longer exist.
    for (const file of readdirSync(expectedDir)) {
      if (file.endsWith('.json') && !files.includes(file)) unlinkSync(join(expectedDir, file));
    }
  }
  // XState warns (console.warn) when an event reaches a stopped/done/error actor; the
  // traces record that behaviour, so the warnings are only noise here.
  const warn = console.warn;
  console.warn = () => {};
  let failures = 0;
  try {
    for (const file of files) {
      const name = basename(file, '.json');
      try {
        const testCase = JSON.parse(readFileSync(join(casesDir, file), 'utf8'));
        validateCase(name, testCase);
        const result = await runCase(testCase);
        if ('paths' in testCase) result.paths = recordPaths(testCase);
        writeFileSync(join(expectedDir, file), JSON.stringify(result, null, 2) + '\n');
      } catch (err) {
        failures += 1;
        process.stderr.write(`FAILED ${name}: ${err?.stack ?? err}\n`);
      }
    }
  } finally {
    console.warn = warn;
  }
  process.stdout.write(`recorded ${files.length - failures} of ${files.length} cases\n`);
  if (failures) process.exitCode = 1;
}

await main();

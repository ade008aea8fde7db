// Runs the core benchmark's scenarios in XState v5 itself.
//
// Two modes:
//   node bench.mjs --serve [--quick]      what `python -m benchmarks.core` uses: JSON lines on
//       stdin/stdout. {"prepare": "toggle/actor"} builds and warms a loop; {"time":
//       "toggle/actor", "n": N} runs it N times and answers {"seconds": ...}. The Python
//       harness then times these loops round-robin with its own, so load on this shared
//       machine falls on XState and statewright alike.
//   node bench.mjs toggle [--quick]        by hand: one scenario, its rows printed as JSON.
// Scenarios: toggle, order, deep, snapshot. Each is measured two ways:
//   "actor": createActor(...).start() and actor.send(event), the usual way to run XState;
//   "pure":  initialTransition()/transition(), which computes the next snapshot and returns the
//            actions without executing them: the same contract as statewright's chart.
import readline from 'node:readline';
import { assign, createActor, createMachine, fromCallback, initialTransition, transition } from 'xstate';

const REPEATS = 5;
const quick = process.argv.includes('--quick');
const TARGET_SECONDS = quick ? 0.02 : 0.25;
const WARMUP_SECONDS = quick ? 0.2 : 1.0; // lets the JIT settle before anything is timed

function elapsed(loop, n) {
  const start = process.hrtime.bigint();
  loop(n);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

// Grows the batch until one run takes the target time; returns it.
function calibrate(loop) {
  let n = 1;
  let t = elapsed(loop, n);
  while (t < TARGET_SECONDS / 10) {
    n *= 4;
    t = elapsed(loop, n);
  }
  return Math.max(1, Math.round((n * TARGET_SECONDS) / t));
}

function warmUp(loop, n) {
  for (let spent = 0; spent < WARMUP_SECONDS; ) spent += elapsed(loop, n);
}

// Returns the median rate in units/s of `loop`, which performs `n` operations of `units` each.
function measure(loop, units) {
  const n = calibrate(loop);
  warmUp(loop, n);
  const rates = [];
  for (let i = 0; i < REPEATS; i++) rates.push((n * units) / elapsed(loop, n));
  const sorted = [...rates].sort((a, b) => a - b);
  return { rate: sorted[Math.floor(REPEATS / 2)], rates, n };
}

function check(condition, what) {
  if (!condition) throw new Error(`xstate mirror is broken: ${what}`);
}

// ---- machines (the same definitions as benchmarks/charts.py) -------------------------------

const toggleMachine = createMachine({
  id: 'toggle',
  initial: 'off',
  states: { off: { on: { TOGGLE: 'on' } }, on: { on: { TOGGLE: 'off' } } },
});

const counterMachine = createMachine({
  id: 'counter',
  initial: 'off',
  context: { flips: 0 },
  states: {
    off: { on: { TOGGLE: { target: 'on', actions: 'flip' } } },
    on: { on: { TOGGLE: { target: 'off', actions: 'flip' } } },
  },
}).provide({ actions: { flip: assign({ flips: ({ context }) => context.flips + 1 }) } });

const orderMachine = createMachine({
  id: 'order',
  initial: 'submitted',
  context: ({ input }) => ({ amount: input.amount, receipt: null }),
  states: {
    submitted: { always: [{ guard: 'isSmall', target: 'payment' }, { target: 'pending_approval' }] },
    pending_approval: { on: { APPROVE: 'payment' } },
    payment: {
      invoke: {
        id: 'payment',
        src: 'charge',
        input: ({ context }) => ({ amount: context.amount }),
        onDone: { target: 'fulfilment', actions: 'storeReceipt' },
      },
    },
    fulfilment: {
      type: 'parallel',
      states: {
        inventory: {
          initial: 'reserving',
          states: { reserving: { on: { RESERVED: 'reserved' } }, reserved: { type: 'final' } },
        },
        shipping: {
          initial: 'preparing',
          states: { preparing: { on: { SHIPPED: 'shipped' } }, shipped: { type: 'final' } },
        },
      },
      onDone: 'shipped',
    },
    shipped: { type: 'final' },
  },
}).provide({
  guards: { isSmall: ({ context }) => context.amount < 1000 },
  actions: { storeReceipt: assign({ receipt: ({ event }) => event.output.receipt }) },
  // The step never completes by itself: the benchmark delivers its done event, as
  // statewright's runtime does after running the step.
  actors: { charge: fromCallback(() => {}) },
});

const deepMachine = createMachine({
  id: 'deep',
  initial: 'left',
  states: {
    left: {
      initial: 'l2',
      states: {
        l2: {
          initial: 'l3',
          on: { NEXT: '#l5a' },
          states: {
            l3: {
              initial: 'l4',
              states: {
                l4: {
                  initial: 'l5a',
                  states: { l5a: { id: 'l5a', on: { CROSS: '#r5' } }, l5b: { id: 'l5b' } },
                },
              },
            },
          },
        },
      },
    },
    right: {
      initial: 'r2',
      states: {
        r2: {
          initial: 'r3',
          states: {
            r3: {
              initial: 'r4',
              states: { r4: { initial: 'r5', states: { r5: { id: 'r5', on: { BACK: '#l5b' } } } } },
            },
          },
        },
      },
    },
  },
});

// ---- events, built once ----------------------------------------------------------------------

const TOGGLE = { type: 'TOGGLE' };
const APPROVE = { type: 'APPROVE' };
const RESERVED = { type: 'RESERVED' };
const SHIPPED = { type: 'SHIPPED' };
const DONE = [500, 5000].map((amount) => ({
  type: 'xstate.done.actor.payment',
  output: { receipt: `r-${amount}` },
}));
const INPUTS = [{ amount: 500 }, { amount: 5000 }];
const DEEP_CYCLE = [{ type: 'CROSS' }, { type: 'BACK' }, { type: 'NEXT' }];

// ---- scenarios ---------------------------------------------------------------------------------

function toggleActor() {
  const actor = createActor(toggleMachine).start();
  return (n) => {
    for (let i = 0; i < n; i++) actor.send(TOGGLE);
  };
}

function togglePure() {
  let [snapshot] = initialTransition(toggleMachine);
  return (n) => {
    for (let i = 0; i < n; i++) [snapshot] = transition(toggleMachine, snapshot, TOGGLE);
  };
}

function orderActor() {
  const run = (i) => {
    const k = i & 1;
    const actor = createActor(orderMachine, { input: INPUTS[k] }).start();
    if (k) actor.send(APPROVE);
    actor.send(DONE[k]);
    actor.send(RESERVED);
    actor.send(SHIPPED);
    return actor.getSnapshot();
  };
  const last = run(1);
  check(last.status === 'done' && last.context.receipt === 'r-5000', 'order (actor)');
  return (n) => {
    for (let i = 0; i < n; i++) run(i);
  };
}

function orderPure() {
  const run = (i) => {
    const k = i & 1;
    let [s] = initialTransition(orderMachine, INPUTS[k]);
    if (k) [s] = transition(orderMachine, s, APPROVE);
    [s] = transition(orderMachine, s, DONE[k]);
    [s] = transition(orderMachine, s, RESERVED);
    [s] = transition(orderMachine, s, SHIPPED);
    return s;
  };
  const last = run(0);
  check(last.status === 'done' && last.context.receipt === 'r-500', 'order (pure)');
  return (n) => {
    for (let i = 0; i < n; i++) run(i);
  };
}

function deepActor() {
  const actor = createActor(deepMachine).start();
  for (const e of DEEP_CYCLE) actor.send(e);
  check(actor.getSnapshot().matches({ left: { l2: { l3: { l4: 'l5a' } } } }), 'deep (actor)');
  return (n) => {
    for (let i = 0; i < n; i++) {
      actor.send(DEEP_CYCLE[0]);
      actor.send(DEEP_CYCLE[1]);
      actor.send(DEEP_CYCLE[2]);
    }
  };
}

function deepPure() {
  let [s] = initialTransition(deepMachine);
  return (n) => {
    for (let i = 0; i < n; i++) {
      [s] = transition(deepMachine, s, DEEP_CYCLE[0]);
      [s] = transition(deepMachine, s, DEEP_CYCLE[1]);
      [s] = transition(deepMachine, s, DEEP_CYCLE[2]);
    }
  };
}

function snapshotActor() {
  const first = createActor(counterMachine).start();
  let text = JSON.stringify(first.getPersistedSnapshot());
  first.stop();
  return (n) => {
    for (let i = 0; i < n; i++) {
      const actor = createActor(counterMachine, { snapshot: JSON.parse(text) }).start();
      actor.send(TOGGLE);
      text = JSON.stringify(actor.getPersistedSnapshot());
      actor.stop();
    }
  };
}

function snapshotPure() {
  let [s] = initialTransition(counterMachine);
  let text = JSON.stringify(counterMachine.getPersistedSnapshot(s));
  return (n) => {
    for (let i = 0; i < n; i++) {
      s = counterMachine.resolveState(JSON.parse(text));
      [s] = transition(counterMachine, s, TOGGLE);
      text = JSON.stringify(counterMachine.getPersistedSnapshot(s));
    }
  };
}

const SCENARIOS = {
  toggle: { units: 1, actor: toggleActor, pure: togglePure },
  order: { units: 1, actor: orderActor, pure: orderPure },
  deep: { units: 3, actor: deepActor, pure: deepPure },
  snapshot: {
    units: 1,
    actor: snapshotActor,
    pure: snapshotPure,
  },
};

const IMPLS = { actor: 'xstate v5 (actor)', pure: 'xstate v5 (pure transition)' };

function serve() {
  const loops = new Map();
  const answer = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
  readline.createInterface({ input: process.stdin }).on('line', (line) => {
    const request = JSON.parse(line);
    try {
      if (request.prepare) {
        const [name, impl] = request.prepare.split('/');
        const loop = SCENARIOS[name][impl]();
        warmUp(loop, calibrate(loop));
        loops.set(request.prepare, loop);
        answer({ ok: true, node: process.version });
      } else {
        answer({ seconds: elapsed(loops.get(request.time), request.n) });
      }
    } catch (error) {
      answer({ error: String(error.stack ?? error) });
    }
  });
}

function runOne(name) {
  const spec = SCENARIOS[name];
  if (!spec) {
    console.error(`usage: node bench.mjs {--serve,${Object.keys(SCENARIOS).join(',')}} [--quick]`);
    process.exit(2);
  }
  const rows = Object.entries(IMPLS).map(([impl, label]) => ({
    impl: label,
    ...measure(spec[impl](), spec.units),
  }));
  console.log(JSON.stringify({ node: process.version, rows }));
}

if (process.argv.includes('--serve')) serve();
else runOne(process.argv[2]);

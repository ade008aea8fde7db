// The statechart drawing: a diagram model (GET /api/v1/definitions/{id}/diagram) laid out
// by elkjs and drawn as SVG. One renderer for the console and `statewright diagram`, which
// runs this file in an embedded V8: so no imports, and no DOM but in the console's part
// (`svgElement`, `Drawing`, `drawStatechart`, given a document to build in).
//
//   const drawing = await drawStatechart(container, model);   // global ELK from elk.bundled.js
//   drawing.highlight(["order", "order.review"]);              // switches classes only
//   drawing.paintCounts({"order.review": 12});
//
//   const layout = await layoutStatechart(ELK, model);         // pure: geometry, absolute
//   const svg = renderSvg(model, layout, {css});                // pure: an SVG string
//   const element = svgElement(document, model, layout);        // the same, as DOM nodes
//
// Compound and parallel states are nested boxes (a parallel state's regions dashed), every
// compound state has an initial marker, final states a double border, and transitions are
// labelled orthogonal arrows placed in the lowest common ancestor of their ends. Label sizes
// come from a fixed per-character width table, not the DOM, so that the browser and the
// command line lay out the same chart identically.

const NAME_SIZE = 13; // px, state names (bold)
const LABEL_SIZE = 11; // px, transition labels and internal transitions
const LINE = 16; // px, one text line
const HEADER = 28; // px, the name row of a state box
const PAD = 12; // px, inside a box
const MARKER = 12; // px, the initial marker's diameter
const HISTORY = 30; // px, a history state's diameter
const MIN_SCALE = 0.85; // the console shrinks a drawing no further: 13 px names stay 11 px

// Advance widths of a regular sans-serif (Helvetica/Arial metrics), in 1/1000 em.
const WIDTHS = (() => {
  const table = {};
  const groups = [
    [191, "'"],
    [222, "ijl|"],
    [278, " .,:;!fIt/[]\\"],
    [333, "-()r{}`"],
    [355, '"'],
    [389, "*"],
    [500, "ckszvxyJ^?"],
    [556, "abdeghnopqu0123456789_#$L~"],
    [584, "+<=>"],
    [611, "FTZ"],
    [667, "ABEKPSVXY&"],
    [722, "CDHNRUw"],
    [778, "GOQ"],
    [833, "mM"],
    [889, "%"],
    [944, "W"],
    [1015, "@"],
  ];
  for (const [width, chars] of groups) for (const c of chars) table[c] = width;
  return table;
})();

/** The estimated width in px of `text` at `size` px (bold: 10% wider), rounded up. */
export function textWidth(text, size = LABEL_SIZE, bold = false) {
  let units = 0;
  for (const c of String(text)) units += WIDTHS[c] ?? 600;
  return Math.ceil(((units * size) / 1000) * (bold ? 1.1 : 1) * 1.05);
}

const LAYOUT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.hierarchyHandling": "INCLUDE_CHILDREN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.edgeLabels.placement": "CENTER",
  "elk.spacing.nodeNode": "28",
  "elk.spacing.edgeNode": "16",
  "elk.spacing.edgeEdge": "10",
  "elk.spacing.edgeLabel": "4",
  "elk.spacing.labelNode": "6",
  "elk.layered.spacing.nodeNodeBetweenLayers": "36",
  "elk.layered.spacing.edgeNodeBetweenLayers": "16",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "10",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  "elk.json.shapeCoords": "ROOT",
  "elk.json.edgeCoords": "ROOT",
};

// Only on the outermost graph: elkjs 0.12 crashes in crossing minimisation when a nested
// node sets a model order strategy too (INCLUDE_CHILDREN lays the hierarchy out as one).
const PAGE_OPTIONS = {
  ...LAYOUT_OPTIONS,
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.padding": "[top=8,left=8,bottom=8,right=8]",
};

const PAGE = "__page";
const initialId = (id) => `${id}::initial`;

function index(model) {
  const states = new Map(model.states.map((s) => [s.id, s]));
  return { states };
}

function leafSize(state) {
  if (state.kind === "history") return { width: HISTORY, height: HISTORY };
  const lines = state.internal.map((t) => textWidth(t, LABEL_SIZE));
  const width = Math.max(72, textWidth(state.key, NAME_SIZE, true), ...lines) + 2 * PAD;
  const height = Math.max(40, HEADER + state.internal.length * LINE + (state.internal.length ? 8 : 4));
  return { width, height };
}

/** The ELK graph of a diagram model (ids: state ids, `t3:0` for the first edge of t3). */
export function elkGraph(model) {
  const nodes = new Map();
  const page = { id: PAGE, layoutOptions: PAGE_OPTIONS, children: [], edges: [] };
  for (const state of model.states) {
    const compound = state.children.length > 0;
    let node;
    if (!compound) {
      node = { id: state.id, ...leafSize(state) };
    } else {
      const top = HEADER + state.internal.length * LINE + 10;
      const minWidth = Math.max(textWidth(state.key, NAME_SIZE, true), ...state.internal.map((t) => textWidth(t))) + 2 * PAD;
      node = {
        id: state.id,
        layoutOptions: {
          ...LAYOUT_OPTIONS,
          "elk.padding": `[top=${top},left=${PAD + 4},bottom=${PAD + 4},right=${PAD + 4}]`,
          "elk.nodeSize.constraints": "MINIMUM_SIZE",
          "elk.nodeSize.minimum": `(${minWidth}, ${top + 24})`,
        },
        children: [],
        edges: [],
      };
      if (state.initial) {
        node.children.push({ id: initialId(state.id), width: MARKER, height: MARKER });
        node.edges.push({ id: `${state.id}::init`, sources: [initialId(state.id)], targets: [state.initial] });
      }
    }
    nodes.set(state.id, node);
    (state.parent === null ? page : nodes.get(state.parent)).children.push(node);
  }
  for (const t of model.transitions) {
    t.targets.forEach((target, i) => {
      const edge = { id: `${t.id}:${i}`, sources: [t.source], targets: [target.state] };
      if (i === 0) {
        edge.labels = [{ id: `${t.id}:label`, text: t.label, width: textWidth(t.label) + 8, height: LINE, layoutOptions: { "elk.edgeLabels.inline": "true" } }];
      }
      const container = target.container === null ? page : nodes.get(target.container);
      container.edges.push(edge);
    });
  }
  return page;
}

/**
 * Lay a diagram model out with elkjs (`ELK`, the constructor from elk.bundled.js).
 * Resolves to `{width, height, states: {id: box}, initials: {id: box}, edges: [...]}`, every
 * box `{x, y, width, height}` in the drawing's coordinates; each edge
 * `{id, transition, source, target, points: [{x, y}], label: box & {text} | null}`.
 */
export async function layoutStatechart(ELK, model) {
  const laid = await new ELK().layout(elkGraph(model));
  const out = { width: laid.width, height: laid.height, states: {}, initials: {}, edges: [] };
  const box = (n) => ({ x: n.x, y: n.y, width: n.width, height: n.height });
  const walk = (node) => {
    for (const child of node.children ?? []) {
      if (child.id.endsWith("::initial")) out.initials[child.id.slice(0, -9)] = box(child);
      else out.states[child.id] = box(child);
      walk(child);
    }
    for (const edge of node.edges ?? []) {
      const points = [];
      for (const s of edge.sections ?? []) {
        points.push(s.startPoint, ...(s.bendPoints ?? []), s.endPoint);
      }
      const initial = edge.id.endsWith("::init");
      const label = edge.labels?.[0];
      out.edges.push({
        id: edge.id,
        transition: initial ? null : edge.id.split(":")[0],
        source: edge.sources[0],
        target: edge.targets[0],
        points: points.map((p) => ({ x: p.x, y: p.y })),
        label: label ? { ...box(label), text: label.text } : null,
      });
    }
  };
  walk(laid);
  return out;
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
const num = (n) => String(Math.round(n * 10) / 10);
const SVG_NS = "http://www.w3.org/2000/svg";

// The drawing is described once, as a tree of `{tag, attrs, children}` whose children are
// nodes, text (a string) or `{raw}` (the embedded style sheet), and then either written out
// as markup (`renderSvg`, for the standalone file) or built with DOM calls (`svgElement`,
// for the console: no HTML string reaches the page, as its Trusted Types policy requires).
// The "\n" text children lay the file out one state or edge a line.

/** A node of the drawing's tree; `children` may hold arrays and nulls (flattened, dropped). */
function el(tag, attrs, ...children) {
  return { tag, attrs, children: children.flat(Infinity).filter((c) => c !== null && c !== undefined) };
}

/** `items`, each on a line of its own, and the closing tag on the next. */
const lines = (items) => [...items.flatMap((item) => ["\n", item]), "\n"];

const SELF_CLOSING = new Set(["circle", "rect", "path"]);

function markup(node) {
  if (typeof node === "string") return esc(node);
  if (node.raw !== undefined) return node.raw;
  const attrs = Object.entries(node.attrs).map(([name, value]) => ` ${name}="${esc(value)}"`).join("");
  if (node.children.length === 0 && SELF_CLOSING.has(node.tag)) return `<${node.tag}${attrs}/>`;
  return `<${node.tag}${attrs}>${node.children.map(markup).join("")}</${node.tag}>`;
}

function build(doc, node) {
  if (typeof node === "string") return doc.createTextNode(node);
  if (node.raw !== undefined) return doc.createTextNode(node.raw);
  const element = doc.createElementNS(SVG_NS, node.tag);
  for (const [name, value] of Object.entries(node.attrs)) {
    if (name !== "xmlns") element.setAttribute(name, String(value)); // createElementNS set it
  }
  for (const child of node.children) element.append(build(doc, child));
  return element;
}

function pathOf(points) {
  return points.map((p, i) => `${i ? "L" : "M"}${num(p.x)} ${num(p.y)}`).join(" ");
}

function stateNode(state, box, parent) {
  const classes = ["sw-state", `sw-${state.kind}`];
  if (parent?.kind === "parallel") classes.push("sw-region");
  if (state.parent === null) classes.push("sw-root");
  const g = { class: classes.join(" "), "data-state": state.id, transform: `translate(${num(box.x)} ${num(box.y)})` };
  const title = el("title", {}, `${state.id}${state.description ? ` \u2014 ${state.description}` : ""}`);
  if (state.kind === "history") {
    const r = num(box.width / 2);
    return el(
      "g", g, title,
      el("circle", { class: "sw-box", cx: r, cy: r, r }),
      el("text", { class: "sw-name", x: r, y: num(box.width / 2 + 4), "text-anchor": "middle" }, state.history === "deep" ? "H*" : "H"),
    );
  }
  const leaf = state.children.length === 0 && state.internal.length === 0;
  const nameY = leaf ? box.height / 2 + 4.5 : 19;
  return el(
    "g", g, title,
    el("rect", { class: "sw-box", width: num(box.width), height: num(box.height), rx: "8", ry: "8" }),
    state.kind === "final"
      ? el("rect", { class: "sw-final-ring", x: "4", y: "4", width: num(box.width - 8), height: num(box.height - 8), rx: "5", ry: "5" })
      : null,
    el("text", { class: "sw-name", x: PAD, y: num(nameY) }, state.key),
    state.kind === "parallel" ? el("text", { class: "sw-kind", x: num(box.width - PAD), y: "19", "text-anchor": "end" }, "parallel") : null,
    state.internal.map((text, i) => el("text", { class: "sw-internal", x: PAD, y: HEADER + 12 + i * LINE }, text)),
  );
}

function edgeNode(edge, transitions) {
  const t = edge.transition === null ? null : transitions.get(edge.transition);
  const cls = t ? `sw-edge sw-edge-${t.kind}` : "sw-edge sw-edge-initial";
  const parts = [];
  if (edge.points.length) parts.push(el("path", { class: "sw-edge-line", d: pathOf(edge.points), "marker-end": "url(#sw-arrow)" }));
  if (edge.label) {
    const l = edge.label;
    parts.push(
      el(
        "g", { class: "sw-label", "data-transition": edge.transition },
        el("rect", { x: num(l.x), y: num(l.y), width: num(l.width), height: num(l.height), rx: "4", ry: "4" }),
        el("text", { x: num(l.x + 4), y: num(l.y + l.height - 4.5) }, l.text),
      ),
    );
  }
  return el("g", { class: cls, "data-edge": edge.id, "data-source": edge.source, "data-target": edge.target }, lines(parts));
}

/** The tree of a laid-out model's drawing (pure): what `renderSvg` and `svgElement` output. */
function svgTree(model, layout, { css = null, title = null } = {}) {
  const { states } = index(model);
  const w = Math.ceil(layout.width);
  const h = Math.ceil(layout.height);
  const name = title ?? `Statechart of ${model.definition}${model.version ? ` version ${model.version}` : ""}`;
  const drawn = model.states.filter((state) => layout.states[state.id]);
  const transitions = new Map(model.transitions.map((t) => [t.id, t]));
  const top = [
    el("title", {}, name),
    el(
      "defs", {},
      el(
        "marker", { id: "sw-arrow", viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "8", markerHeight: "8", orient: "auto-start-reverse" },
        el("path", { class: "sw-arrowhead", d: "M0 1 L9 5 L0 9 z" }),
      ),
    ),
    css ? el("style", {}, { raw: css.replace(/<\/style/gi, "<\\/style") }) : null,
    el("g", { class: "sw-states" }, lines(drawn.map((state) => stateNode(state, layout.states[state.id], state.parent === null ? null : states.get(state.parent))))),
    el(
      "g", { class: "sw-initials" },
      lines(Object.entries(layout.initials).map(([id, box]) => el("circle", { class: "sw-initial", "data-state": id, cx: num(box.x + box.width / 2), cy: num(box.y + box.height / 2), r: num(box.width / 2) }))),
    ),
    el("g", { class: "sw-edges" }, lines(layout.edges.map((edge) => edgeNode(edge, transitions)))),
  ].filter((node) => node !== null);
  const attrs = { xmlns: SVG_NS, class: "sw-statechart", viewBox: `0 0 ${w} ${h}`, width: w, height: h, role: "img", "aria-label": name };
  return el("svg", attrs, top.flatMap((node) => ["\n", node]));
}

/**
 * The SVG of a laid-out model as markup (pure). `css`, when given, is embedded in a <style>
 * element so the file stands alone; the console styles it with diagram.css instead.
 */
export function renderSvg(model, layout, options = {}) {
  return markup(svgTree(model, layout, options));
}

/** The same drawing as an SVG element of `doc`, built with DOM calls (no markup parsed). */
export function svgElement(doc, model, layout, options = {}) {
  return build(doc, svgTree(model, layout, options));
}

// -- the console: cached layouts and a live drawing -------------------------------------------

const memory = new Map();

function fingerprint(text) {
  let hash = 0x811c9dc5; // FNV-1a, enough to tell two models apart in one session
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16);
}

/** The layout of `model`, computed once per definition version (memory, then sessionStorage). */
export async function cachedLayout(ELK, model) {
  const text = JSON.stringify(model);
  const key = `sw-layout:1:${model.definition}:${model.version ?? ""}:${fingerprint(text)}`;
  if (memory.has(key)) return memory.get(key);
  const storage = globalThis.sessionStorage;
  try {
    const stored = storage?.getItem(key);
    if (stored) {
      const layout = JSON.parse(stored);
      memory.set(key, layout);
      return layout;
    }
  } catch {
    // sessionStorage unavailable (privacy mode): memory only
  }
  const pending = layoutStatechart(ELK, model);
  memory.set(key, pending);
  try {
    const layout = await pending;
    memory.set(key, layout);
    try {
      storage?.setItem(key, JSON.stringify(layout));
    } catch {
      // full or unavailable: memory only
    }
    return layout;
  } catch (error) {
    memory.delete(key);
    throw error;
  }
}

/** A drawn statechart: live updates switch classes and badges, never lay out again. */
export class Drawing {
  constructor(svg, model, layout) {
    this.svg = svg;
    this.model = model;
    this.layout = layout;
    this.boxes = new Map();
    for (const g of svg.querySelectorAll("g.sw-state")) this.boxes.set(g.dataset.state, g);
  }

  /** Mark exactly these state ids active (class `sw-active`); edges out of them too. */
  highlight(activeStateIds) {
    const active = new Set(activeStateIds ?? []);
    for (const [id, g] of this.boxes) g.classList.toggle("sw-active", active.has(id));
    for (const g of this.svg.querySelectorAll("g.sw-edge")) {
      g.classList.toggle("sw-active", active.has(g.dataset.source) && g.dataset.edge.indexOf("::") < 0);
    }
    this.svg.classList.toggle("sw-has-active", active.size > 0);
  }

  /**
   * Scroll the drawing's container sideways to the active states when none of them is in
   * view: a chart wider than its container shows its left end first, which an instance
   * that has moved on has left. A container already showing an active state is left alone.
   */
  reveal() {
    const box = this.svg.parentElement;
    if (!box || box.scrollWidth <= box.clientWidth) return;
    // The innermost active states: a compound one around them is active too, and wide.
    const leaves = [...this.svg.querySelectorAll("g.sw-state.sw-active")].filter((g) => !g.querySelector("g.sw-state.sw-active"));
    if (leaves.length === 0) return;
    const frame = box.getBoundingClientRect();
    const spans = leaves.map((g) => g.getBoundingClientRect());
    if (spans.some((r) => r.left >= frame.left && r.right <= frame.right)) return;
    const left = Math.min(...spans.map((r) => r.left)) - frame.left + box.scrollLeft;
    const right = Math.max(...spans.map((r) => r.right)) - frame.left + box.scrollLeft;
    const room = box.clientWidth;
    box.scrollLeft = right - left <= room ? (left + right - room) / 2 : left - 16;
  }

  /** Paint a count badge on each state of `{stateId: n}`; states not named lose theirs. */
  paintCounts(counts) {
    for (const [id, g] of this.boxes) {
      g.querySelector(":scope > .sw-count")?.remove();
      const n = counts?.[id];
      if (!n) continue;
      const text = String(n);
      const width = textWidth(text, LABEL_SIZE, true) + 12;
      const box = this.layout.states[id];
      const badge = document.createElementNS(SVG_NS, "g");
      badge.setAttribute("class", "sw-count");
      badge.setAttribute("transform", `translate(${num(box.width - width - 6)} -9)`);
      const rect = document.createElementNS(SVG_NS, "rect");
      for (const [k, v] of Object.entries({ width, height: 18, rx: 9, ry: 9 })) rect.setAttribute(k, v);
      const label = document.createElementNS(SVG_NS, "text");
      label.setAttribute("x", num(width / 2));
      label.setAttribute("y", "13");
      label.setAttribute("text-anchor", "middle");
      label.textContent = text;
      badge.append(rect, label);
      g.append(badge);
    }
  }
}

/**
 * Draw `model` into `container` (replacing its content) with the page's global `ELK`;
 * resolves to a `Drawing`.
 */
export async function drawStatechart(container, model, { ELK = globalThis.ELK } = {}) {
  if (typeof ELK !== "function") {
    throw new Error("elkjs is not loaded: add <script src=\"/static/vendor/elk.bundled.js\"> before the modules");
  }
  const layout = await cachedLayout(ELK, model);
  const svg = svgElement(container.ownerDocument, model, layout);
  container.replaceChildren(svg);
  // Shrunk to fit its container, but no further than MIN_SCALE (its text stays readable):
  // past that the container scrolls sideways.
  svg.style.minWidth = `${Math.ceil(layout.width * MIN_SCALE)}px`;
  return new Drawing(svg, model, layout);
}

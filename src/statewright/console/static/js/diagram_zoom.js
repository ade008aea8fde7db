// The diagram panel's view of a drawing: fitted to the panel's width, or at a chosen scale
// (zoom out and in, "100%" for the drawing's own size), with edges that shade where more of
// the chart lies beyond the panel and a note saying so. The drawing is never laid out again:
// only the SVG's width changes (its height follows its viewBox), so the live highlighting of
// the active states goes on as before.
//
//   const view = zoomable(diagram);          // the toolbar and the frame around `diagram`
//   section.append(view.element);
//   view.attach(drawing);                   // once drawn: the default scale, the cues
//
// The default is to fit the whole chart to the panel's width, unless its names would be
// shrunk below READABLE of their size (a wide chart on a phone): then it is drawn at the
// scale the panel used before (MIN_SCALE of its size), wider than the panel, and the cues
// and the note say that it goes on; "Fit" shows it whole anyway.
import { h } from "./dom.js";

const READABLE = 0.55; // the smallest scale fitting chooses by itself: 13 px names at 7 px
const MIN_SCALE = 0.85; // the scale of a chart too wide to fit readably (statechart.js's)
const STEPS = [0.25, 0.35, 0.5, 0.65, 0.75, 0.85, 1, 1.25, 1.5, 2];

export function zoomable(diagram) {
  const frame = h("div", { class: "diagram-frame", "data-testid": "diagram-frame" }, diagram);
  const readout = h("span", { class: "diagram-scale", "data-testid": "diagram-scale", "aria-live": "polite" });
  const more = h("span", { class: "diagram-more", "data-testid": "diagram-more", hidden: true });
  const button = (label, testid, title, onclick) =>
    h("button", { type: "button", class: "sw-button sw-small", "data-testid": testid, title, "aria-label": title, onclick }, label);
  const tools = h(
    "div",
    { class: "diagram-tools", role: "toolbar", "aria-label": "Diagram size", hidden: true },
    button("−", "diagram-zoom-out", "Zoom out", () => step(-1)),
    button("Fit", "diagram-fit", "Fit the whole chart to the panel's width", () => show("fit")),
    button("100%", "diagram-actual", "The chart at its own size", () => show(1)),
    button("+", "diagram-zoom-in", "Zoom in", () => step(1)),
    readout,
    more,
  );
  let drawing = null;
  let mode = "fit"; // "fit", or a scale
  let scale = 1;
  let watching = false;

  function natural() {
    return drawing.layout.width;
  }

  function fitScale() {
    return Math.min(1, diagram.clientWidth / natural());
  }

  function show(wanted) {
    if (!drawing) return;
    mode = wanted;
    scale = wanted === "fit" ? fitScale() : wanted;
    const svg = drawing.svg;
    // Fitted, it follows the panel's width (as it is resized); otherwise a fixed width.
    svg.style.minWidth = "0";
    svg.style.maxWidth = wanted === "fit" ? "100%" : "none";
    svg.style.width = `${Math.round(natural() * scale)}px`;
    readout.textContent = `${Math.round(scale * 100)}%`;
    frame.dataset.mode = wanted === "fit" ? "fit" : "scale";
    drawing.reveal();
    cues();
  }

  function step(direction) {
    const now = Math.round(scale * 100) / 100;
    const next = direction > 0 ? STEPS.find((s) => s > now + 0.001) : [...STEPS].reverse().find((s) => s < now - 0.001);
    if (next !== undefined) show(next);
  }

  /** Shade the edges beyond which the chart goes on, and say so. */
  function cues() {
    const left = diagram.scrollLeft > 1;
    const right = diagram.scrollLeft + diagram.clientWidth < diagram.scrollWidth - 1;
    frame.classList.toggle("more-left", left);
    frame.classList.toggle("more-right", right);
    more.hidden = !(left || right);
    const where = left && right ? "on both sides" : right ? "to the right" : "to the left";
    more.textContent = left || right ? `More ${where}: scroll, or Fit` : "";
  }

  return {
    element: h("div", { class: "diagram-view" }, tools, frame),
    attach(drawn) {
      drawing = drawn;
      tools.hidden = false;
      show(fitScale() >= READABLE ? "fit" : Math.max(MIN_SCALE, fitScale()));
      if (watching) return;
      watching = true;
      diagram.addEventListener("scroll", () => drawing && cues(), { passive: true });
      new ResizeObserver(() => {
        if (!drawing) return;
        if (mode === "fit") show("fit");
        else cues();
      }).observe(diagram);
    },
    /** The drawing is gone (drawn again, or failed): hide the tools until the next one. */
    detach() {
      drawing = null;
      tools.hidden = true;
      frame.classList.remove("more-left", "more-right");
      more.hidden = true;
    },
  };
}

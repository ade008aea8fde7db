"""Statechart drawings: the diagram model of a machine, laid out and drawn as SVG.

model = diagram_model(machine)       # JSON: states as a tree, labelled transitions
svg = render_svg(model)              # the console's renderer, run outside the browser
"""

from statewright.diagram.model import diagram_model
from statewright.diagram.render import DiagramUnavailable, layout_model, render_svg

__all__ = ["DiagramUnavailable", "diagram_model", "layout_model", "render_svg"]

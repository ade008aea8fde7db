"""Statechart drawings: the diagram model of a machine, laid out and drawn as SVG."""

from statewright.diagram.model import diagram_model

__all__ = ["diagram_model"]

"""Event descriptors: which event types an `on` key (or an outbox listener pattern) matches."""

from __future__ import annotations

__all__ = ["matches_descriptor"]


def matches_descriptor(descriptor: str, event_type: str) -> bool:
    """XState's `matchesEventDescriptor`: `"x"` matches `x`, `"*"` everything, `"order.*"`
    matches `order` and every `order.<...>` type."""
    if descriptor in ("*", event_type):
        return True
    if not descriptor.endswith(".*"):
        return False
    descriptor_tokens = descriptor.split(".")
    event_tokens = event_type.split(".")
    for index, token in enumerate(descriptor_tokens):
        if token == "*":
            return index == len(descriptor_tokens) - 1
        if index >= len(event_tokens) or token != event_tokens[index]:
            return False
    return True

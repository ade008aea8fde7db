"""Reading the worker's log lines in tests: by kind, and as `--log json` writes them."""

from __future__ import annotations

import json
import logging

import pytest

from statewright.cli.logs import JsonFormatter


def of_kind(logged: pytest.LogCaptureFixture, kind: str) -> list[logging.LogRecord]:
    """The captured records of one kind (`timer_fired`, `step_failed`, ...)."""
    return [record for record in logged.records if getattr(record, "kind", None) == kind]


def as_json(record: logging.LogRecord) -> dict[str, object]:
    """The record as one line of `--log json`, parsed."""
    line = json.loads(JsonFormatter().format(record))
    assert isinstance(line, dict)
    return line

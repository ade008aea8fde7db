"""`Worker(...)` refuses options it could only misuse: a count below 1, a lease that ends at
once (another worker would take a step that still runs), naming the option and its default
(`outbox_lease_ms` alike: tests/runtime/test_outbox.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from statewright import Engine, Worker
from statewright.errors import ConfigError


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("batch", 0),
        ("concurrency", 0),
        ("concurrency", -1),
        ("step_lease_ms", 0),
        ("lease_ms", -5),
        ("timer_lease_ms", 0),
        ("batch", 2.5),
        ("concurrency", True),
    ],
)
def test_a_worker_option_it_could_only_misuse_is_refused_by_name(
    option: str, value: object, tmp_path: Path
) -> None:
    with (
        Engine.open(f"sqlite:///{tmp_path / 'w.db'}") as engine,
        pytest.raises(ConfigError) as refused,
    ):
        Worker(engine, **{option: value})  # type: ignore[arg-type]
    message = str(refused.value)
    shown = "step_lease_ms" if option == "lease_ms" else option
    assert message.startswith(f"{shown} must be a whole number")
    assert f"at least 1, not {value!r}; the default is" in message


def test_the_smallest_options_are_taken(tmp_path: Path) -> None:
    with Engine.open(f"sqlite:///{tmp_path / 'w.db'}") as engine:
        worker = Worker(engine, batch=1, concurrency=1, step_lease_ms=1, timer_lease_ms=1)
        assert worker.batch == 1 and worker.lease_ms == 1
        assert worker.run_once() == 0

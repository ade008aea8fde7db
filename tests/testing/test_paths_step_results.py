"""A step's result sent without a sample can put the machine in status error: the path says
so, and `paths` warns which states it could not reach."""

from __future__ import annotations

import pytest

from statewright import Machine
from statewright.errors import ImplementationError
from statewright.testing import paths
from statewright.testing.paths import PathCoverageWarning

ORDER = Machine.from_config(
    {
        "id": "o",
        "initial": "paying",
        "states": {
            "paying": {
                "invoke": {
                    "id": "pay",
                    "src": "charge",
                    "onDone": {
                        "target": "paid",
                        "actions": [
                            {
                                "type": "assign",
                                "params": {"paymentId": {"$expr": "event.output.id"}},
                            }
                        ],
                    },
                }
            },
            "paid": {"on": {"SHIP": "shipped"}},
            "shipped": {"type": "final"},
        },
    },
    actors={"charge": lambda _: {"id": "p"}},
)


def test_a_path_that_ends_in_error_says_so_and_the_states_missed_are_named() -> None:
    with pytest.warns(PathCoverageWarning) as caught:
        found = paths(ORDER)
    start, failed = found
    assert start.error is None and start.describe() == "reaches paying: (start)"
    assert failed.snapshot.status == "error"
    assert isinstance(failed.error, ImplementationError)
    assert failed.describe().startswith(
        "ends in error in paying (ImplementationError: action 'assign' in state 'o.paying' "
    )
    assert failed.describe().endswith(': xstate.done.actor.pay {"output": null}')
    assert failed.to_json()["error"] == {
        "type": "ImplementationError",
        "message": str(failed.error),
    }
    (warning,) = caught
    message = str(warning.message)
    assert "xstate.done.actor.pay (output: null) put the machine in status error" in message
    assert "States not reached: o.paid, o.shipped." in message
    assert 'events={"xstate.done.actor.pay": [{"output": {...}}]}' in message
    assert warning.filename == __file__  # pointed at the caller


def test_sample_results_reach_the_states_after_the_step_without_a_warning() -> None:
    found = paths(ORDER, events={"xstate.done.actor.pay": [{"output": {"id": "p-1"}}]})
    assert [path.describe() for path in found] == [
        "reaches paying: (start)",
        'reaches paid: xstate.done.actor.pay {"output": {"id": "p-1"}}',
        'reaches shipped: xstate.done.actor.pay {"output": {"id": "p-1"}} → SHIP',
    ]
    assert all(path.error is None and "error" not in path.to_json() for path in found)

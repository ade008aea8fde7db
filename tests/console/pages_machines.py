"""The `--machines` file of the instance page's live tests: the examples, and two small
definitions whose waits are short or long on purpose.

- `ticket`: `open` moves to `stale` by itself after 2 seconds (a timer a worker fires), and
  `CLOSE` is a typed event (its fields declared as a JSON Schema).
- `triage`: `ASSIGN` is a typed event accepted in `new` and `urgent`, not once `assigned`.
- `upload`: a step whose first attempt fails and whose retry waits an hour, unless an operator
  makes it due now; the attempts after the first succeed.
"""

from __future__ import annotations

from examples_machines import MACHINES as EXAMPLES

from statewright import Machine
from statewright.runtime import current_step

TICKET = {
    "id": "ticket",
    "initial": "open",
    "statewright": {
        "events": {
            "CLOSE": {
                "type": "object",
                "properties": {
                    "resolution": {"type": "string", "enum": ["fixed", "wontfix"]},
                    "minutes": {"type": "integer", "minimum": 1, "description": "time spent"},
                },
                "required": ["resolution", "minutes"],
            }
        }
    },
    "states": {
        "open": {"after": {"2s": "stale"}, "on": {"CLOSE": "closed"}},
        "stale": {"tags": ["needs-human"], "on": {"CLOSE": "closed"}},
        "closed": {"type": "final"},
    },
}

TRIAGE = {
    "id": "triage",
    "initial": "new",
    "statewright": {
        "events": {
            "ASSIGN": {
                "type": "object",
                "properties": {"assignee": {"type": "string", "description": "who takes it"}},
                "required": ["assignee"],
            }
        }
    },
    "states": {
        "new": {"on": {"ASSIGN": "assigned", "ESCALATE": "urgent"}},
        "urgent": {"on": {"ASSIGN": "assigned"}},
        "assigned": {"on": {"RESOLVE": "resolved"}},
        "resolved": {"type": "final"},
    },
}

UPLOAD = {
    "id": "upload",
    "initial": "uploading",
    "states": {
        "uploading": {
            "invoke": {
                "id": "send",
                "src": "uploadFile",
                "statewright": {"retry": {"attempts": 5, "delay": "1h"}},
                "onDone": "uploaded",
                "onError": "failed",
            }
        },
        "uploaded": {"type": "final"},
        "failed": {},
    },
}


class RemoteDown(Exception):
    """The remote end did not answer."""


def upload_file(input: object) -> dict[str, object]:
    """Fails its first attempt; the later ones succeed."""
    if current_step().attempt == 1:
        raise RemoteDown("remote end did not answer")
    return {"uploaded": True}


MACHINES = [
    *EXAMPLES,
    Machine.from_config(TICKET),
    Machine.from_config(TRIAGE),
    Machine.from_config(UPLOAD, actors={"uploadFile": upload_file}),
]

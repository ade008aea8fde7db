"""`statewright init`: a new project in a folder: `statewright.toml`, an example definition,
a Python file of its implementations, and a test of it with the testing kit."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["FILES", "init"]

_TOML = """\
# statewright's settings for this project; the commands read them from here or any subfolder.
[statewright]
# The store: a SQLite file beside this one, or postgresql://user@host:5432/dbname.
# --url and the STATEWRIGHT_URL environment variable take precedence.
url = "sqlite:///statewright.db"
# The machine definitions (.json, .yaml), each registered under its "id".
definitions = "definitions"
# The Python side: GUARDS, ACTIONS, ACTORS (steps), DELAYS, and LISTENERS, SCHEDULES.
implementations = "implementations.py"
"""

_DEFINITION = """\
{
  "id": "order",
  "initial": "submitted",
  "statewright": {
    "input": {
      "type": "object",
      "properties": {"orderId": {"type": "string"}, "amount": {"type": "number", "minimum": 0}},
      "required": ["orderId", "amount"]
    }
  },
  "context": {
    "orderId": {"$expr": "input.orderId"},
    "amount": {"$expr": "input.amount"},
    "approvedBy": null
  },
  "states": {
    "submitted": {
      "always": [
        {"target": "paying", "guard": "isSmall"},
        {"target": "pending_approval"}
      ]
    },
    "pending_approval": {
      "tags": ["needs-human"],
      "after": {"48h": "escalated"},
      "on": {
        "APPROVE": {
          "target": "paying",
          "actions": [{"type": "assign", "params": {"approvedBy": {"$expr": "event.by"}}}]
        },
        "REJECT": "rejected"
      }
    },
    "escalated": {
      "tags": ["needs-human"],
      "on": {"APPROVE": "paying", "REJECT": "rejected"}
    },
    "paying": {
      "invoke": {
        "id": "charge",
        "src": "chargeCard",
        "input": {"orderId": {"$expr": "context.orderId"}, "amount": {"$expr": "context.amount"}},
        "statewright": {"retry": {"attempts": 3, "backoff": "exponential", "delay": "10s"}},
        "onDone": "paid",
        "onError": "payment_failed"
      }
    },
    "payment_failed": {"tags": ["needs-human"], "on": {"RETRY": "paying"}},
    "paid": {
      "type": "final",
      "entry": [{"type": "emit", "params": {"event": {"type": "order.paid"}}}]
    },
    "rejected": {"type": "final"}
  }
}
"""

_IMPLEMENTATIONS = '''\
"""The Python side of the definitions in definitions/: guards, actions and steps by name.

`statewright worker` (and start, send) load this file; ACTORS are the steps workers run,
LISTENERS the functions workers deliver the outbox's messages to.
"""

from __future__ import annotations

import logging

from statewright.runtime import OutboxMessage

log = logging.getLogger("shop")


class PaymentDeclined(Exception):
    """The payment provider refused the charge."""


def is_small(context: dict[str, object], event: dict[str, object]) -> bool:
    """Orders under 100 need no approval."""
    amount = context["amount"]
    return isinstance(amount, (int, float)) and amount < 100


def charge_card(input: dict[str, object]) -> dict[str, object]:
    """Charge the card (here: decline over 5000). Pass the step's idempotency key
    (statewright.runtime.current_step().idempotency_key) to a real provider."""
    amount = input["amount"]
    if not isinstance(amount, (int, float)) or amount > 5000:
        raise PaymentDeclined(f"card declined for {amount}")
    return {"paymentId": f"pay-{input['orderId']}"}


def order_paid(message: OutboxMessage) -> None:
    """An order was paid (its "emit"): tell the warehouse here. Delivered at least once:
    deduplicate on message.id. Once delivered, the message no longer holds the finished
    order back from "statewright prune"."""
    log.info("order %s paid (message %s)", message.instance_id, message.id)


GUARDS = {"isSmall": is_small}
ACTIONS: dict[str, object] = {}
ACTORS = {"chargeCard": charge_card}
LISTENERS = {"order.paid": order_paid}
'''

_CONFTEST = '''\
"""pytest: this folder is on the import path, so tests import implementations.py."""
'''

_TEST = '''\
"""The order workflow, tested with statewright's testing kit: the real engine and worker on
a temporary SQLite file, with time moving only when the test says so."""

from __future__ import annotations

from pathlib import Path

from implementations import ACTORS, GUARDS

from statewright import Machine
from statewright.testing import Harness

ORDER = Path(__file__).parents[1] / "definitions" / "order.json"


def order() -> Machine:
    return Machine.load(ORDER, guards=GUARDS, actors=ACTORS)


def test_a_small_order_is_paid_without_approval() -> None:
    with Harness(order()) as h:
        h.start("order", instance_id="A-1", input={"orderId": "A-1", "amount": 25})
        h.assert_state("A-1", "paid")
        h.assert_outbox_pending("A-1", "order.paid")


def test_an_unapproved_order_escalates_after_48_hours() -> None:
    with Harness(order()) as h:
        h.start("order", instance_id="A-2", input={"orderId": "A-2", "amount": 2500})
        h.assert_state("A-2", "pending_approval")
        h.advance("48h")
        h.assert_state("A-2", "escalated")
        h.send("A-2", {"type": "APPROVE", "by": "ann"})
        h.assert_state("A-2", "paid")


def test_a_declined_payment_is_retried_then_needs_a_human() -> None:
    with Harness(order()) as h:
        h.start("order", instance_id="A-3", input={"orderId": "A-3", "amount": 9000})
        h.send("A-3", {"type": "APPROVE", "by": "ann"})
        h.assert_retry_scheduled("A-3", "charge", attempts=1)
        h.advance("1h")
        h.assert_state("A-3", "payment_failed")
'''

#: The files `init` writes, by path relative to the project folder.
FILES = {
    "statewright.toml": _TOML,
    "definitions/order.json": _DEFINITION,
    "implementations.py": _IMPLEMENTATIONS,
    "conftest.py": _CONFTEST,
    "tests/test_order.py": _TEST,
}


def init(
    folder: Annotated[
        Path, typer.Argument(help="Where to make the project (created if missing).")
    ] = Path("."),
) -> None:
    """Make a new project: statewright.toml, an example definition, implementations, a test.

    The example is an order workflow; its implementations file holds its guard and step, and
    the test runs it with the testing kit (pytest). The commands run in the project need no
    flags. Refuses (exit 4) to overwrite any file, and writes nothing then.

    Example: statewright init shop && cd shop && pytest && statewright start order --input
    '{"orderId": "A-1", "amount": 25}'
    """
    in_the_way = _in_the_way(folder)
    if in_the_way:
        _refuse(in_the_way, 4)  # a conflict, as the exit codes of docs/cli.md say
    try:
        _write(folder)
    except OSError as error:
        where = error.filename or folder
        _refuse(
            f"{where}: cannot write it ({error.strerror or error}); pick a folder you can "
            "write to (nothing was written)",
            2,  # bad input: a folder that cannot be used, as for prune's --archive
        )
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"made a statewright project in {folder}:")
    for name in FILES:
        console.print(f"  {name}")
    console.print(
        f"next: cd {folder}; pytest (statewright does not install it: pip install pytest); "
        "statewright start order --input "
        '\'{"orderId": "A-1", "amount": 25}\'; statewright worker --once; statewright list'
    )


def _in_the_way(folder: Path) -> str | None:
    """Why `init` cannot write its files in `folder` without overwriting something (one line
    naming what is in the way and the fix), or None. Checked before anything is written."""
    for name in FILES:
        path = folder / name
        for parent in reversed(path.parents):
            if parent.exists() and not parent.is_dir():
                inside = "the project" if parent in (folder, *folder.parents) else name
                return (
                    f"{parent} is a file, where init makes a folder (for {inside}); move it away "
                    "or pick another folder (nothing was written)"
                )
    taken = [name for name in FILES if os.path.lexists(folder / name)]
    if not taken:
        return None
    verb = "exists" if len(taken) == 1 else "exist"
    return (
        f"{folder}: {', '.join(taken)} {verb} already; init makes a new project: pick an "
        "empty folder (nothing was written)"
    )


def _write(folder: Path) -> None:
    """Write `FILES` in `folder`; on an OSError, remove the files and folders made so far
    first, so that a failed `init` leaves nothing behind."""
    made: list[Path] = []
    try:
        for name, text in FILES.items():
            path = folder / name
            for parent in reversed(path.parents):
                if not parent.is_dir():
                    parent.mkdir()
                    made.append(parent)
            made.append(path)
            path.write_text(text, encoding="utf-8")
    except OSError:
        for path in reversed(made):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        raise


def _refuse(message: str, code: int) -> NoReturn:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[red]{escape(message)}[/red]")
    raise typer.Exit(code)

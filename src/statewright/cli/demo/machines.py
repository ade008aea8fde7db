"""The live demo's setup: the three examples (order, approval, intake) with their Python
implementations, a listener taking their outbox messages (one applicant's notifications are
refused and dead-lettered, for the console's redrive panel), and the intake's schedule, for
the demo's tenant.

The examples are read from `examples/` in the current folder when it has them (a checkout's
root), else from the copy a wheel carries (`PACKAGED`, written by the build), else from the
checkout statewright runs from (an editable install): `default_examples`.

The demo folder's `machines.py` (the `--machines` file of its `serve`) calls `load`; each
example's `steps.py` is imported under its own module name, since two of them share the file
name.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from pathlib import Path
from types import ModuleType

from statewright.definitions import Machine
from statewright.errors import ConfigError
from statewright.runtime import OutboxMessage

__all__ = [
    "EXAMPLES",
    "FILES",
    "OUTBOX_RETRY",
    "PACKAGED",
    "default_examples",
    "load",
    "missing_examples",
]

log = logging.getLogger("statewright.demo")

#: Each example's folder and definition file.
EXAMPLES = {
    "order": "order/order.json",
    "approval": "approval/approval.json",
    "intake": "intake/intake.json",
}


#: Every file of the examples folder the demo reads (a wheel carries these: setup.py).
FILES = (*EXAMPLES.values(), "order/steps.py", "approval/steps.py", "intake/schedules.json")
#: Where a wheel carries the examples (the build copies them there from `examples/`).
PACKAGED = Path(__file__).resolve().parent / "examples"
#: A checkout's examples, for statewright run from its source tree.
_CHECKOUT = Path(__file__).resolve().parents[4] / "examples"


def missing_examples(examples: Path) -> list[str]:
    """The example files the demo needs that `examples` lacks (empty when it has them all)."""
    return [name for name in FILES if not (examples / name).is_file()]


def default_examples() -> Path:
    """`examples` here if it has every file the demo reads, else the installed copy, else the
    checkout's; `examples` (to be named in the error) when none has them all."""
    here = Path("examples")
    for candidate in (here, PACKAGED, _CHECKOUT):
        if not missing_examples(candidate):
            return candidate
    return here


def load(
    examples: Path, tenant: str
) -> tuple[list[Machine], dict[str, object], list[dict[str, object]]]:
    """The demo's `MACHINES`, `LISTENERS` and `SCHEDULES`, from the `examples` folder.

    Raises:
        ConfigError: a file of the examples is missing or cannot be imported.
        DefinitionError: a definition has faults.
    """
    missing = missing_examples(examples)
    if missing:
        raise ConfigError(
            f"{examples}: missing {', '.join(missing)}; run the demo from the repository "
            "root, or give --examples the repository's examples folder"
        )
    order_steps = _import(examples / "order" / "steps.py", "statewright_demo_order_steps")
    approval_steps = _import(examples / "approval" / "steps.py", "statewright_demo_approval_steps")
    machines = [
        Machine.load(examples / EXAMPLES["order"], actors=order_steps.ACTORS),
        Machine.load(examples / EXAMPLES["approval"], actors=approval_steps.ACTORS),
        Machine.load(examples / EXAMPLES["intake"]),
    ]
    schedules = json.loads((examples / "intake" / "schedules.json").read_text(encoding="utf-8"))
    for schedule in schedules:
        schedule["action"]["tenant"] = tenant
    listeners: dict[str, object] = {"order.*": _notify, "intake.*": _notify}
    return machines, listeners, schedules


class MailboxFull(Exception):
    """The demo's refused notification: dead-lettered at once (`OUTBOX_RETRY`)."""


#: The outbox's retry policy of the demo's worker: a full mailbox is not retried.
OUTBOX_RETRY = {"nonRetryable": ["MailboxFull"]}
#: The applicant whose mailbox is full when first written to (it has room once redriven):
#: the demo's dead letters, for the console's redrive panel.
FULL_MAILBOX = "margaret"
#: The messages to her refused so far (the demo's one process delivers them all).
_REFUSED: set[str] = set()


def _notify(message: OutboxMessage) -> None:
    """Where a deployment would send an e-mail or call a webhook: the demo logs it, but
    for the applicant whose mailbox is full the first time a message to her comes."""
    if message.event.get("applicant") == FULL_MAILBOX and message.id not in _REFUSED:
        _REFUSED.add(message.id)
        raise MailboxFull(
            f"{FULL_MAILBOX}'s mailbox is full; redrive the message once she has made room"
        )
    log.info("notified: %s from %s", message.event.get("type"), message.instance_id)


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path}: not a Python file; the demo needs the example's steps.py")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ConfigError(f"{path}: cannot import it ({type(error).__name__}: {error})") from None
    if not isinstance(getattr(module, "ACTORS", None), dict):
        raise ConfigError(f"{path} defines no ACTORS dict; restore the example's steps.py")
    return module

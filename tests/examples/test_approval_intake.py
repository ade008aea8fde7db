"""The approval and intake examples, run by the real engine and worker on virtual time."""

from __future__ import annotations

import importlib.util
import json
import random
from pathlib import Path
from types import ModuleType

from statewright import Machine
from statewright.runtime.outbox import OutboxMessage
from statewright.testing import Harness

EXAMPLES = Path(__file__).parents[2] / "examples"


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem + "_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def approval_machine(seed: int) -> Machine:
    steps = load_module(EXAMPLES / "approval" / "steps.py")
    process = steps.make_process(random.Random(seed))
    return Machine.load(
        EXAMPLES / "approval" / "approval.json", actors={"processDocument": process}
    )


def test_approval_processes_despite_random_failures_and_reject_reprocesses() -> None:
    for seed in range(20):
        with Harness(approval_machine(seed)) as h:
            h.start("approval", instance_id="doc-1", input={"document": "lease.pdf"})
            h.send("doc-1", "SUBMIT")
            h.advance("1m")  # long enough for every retry of the first round
            h.assert_state("doc-1", "waiting_for_approval")
            h.send("doc-1", "REJECT")
            h.advance("1m")
            h.assert_state("doc-1", "waiting_for_approval")
            h.send("doc-1", "APPROVE")

            done = h.get("doc-1")
            assert done.status == "done"
            assert done.snapshot.output == {"rounds": 2, "summary": "lease.pdf, round 2"}
            retries = [
                e
                for e in h.engine.history("doc-1")
                if e.event["type"] == "xstate.done.actor.process"
            ]
            assert len(retries) == 2  # each round's result applied exactly once
            assert h.engine.verify("doc-1").ok


def test_an_unreadable_document_fails_every_attempt_and_waits_for_a_person() -> None:
    with Harness(approval_machine(0)) as h:
        h.start("approval", instance_id="doc-2", input={"document": "unreadable-scan.pdf"})
        h.send("doc-2", "SUBMIT")
        h.advance("5m")  # every attempt of the retry policy
        h.assert_state("doc-2", "failed")
        assert h.get("doc-2").snapshot.accepted_events == ("RETRY",)


def test_intake_escalates_stale_reviews_by_schedule_and_notifies() -> None:
    machine = Machine.load(EXAMPLES / "intake" / "intake.json")
    schedules = json.loads((EXAMPLES / "intake" / "schedules.json").read_text())
    delivered: list[OutboxMessage] = []
    with Harness(machine) as h:
        for schedule in schedules:
            h.worker.schedule(schedule)
        h.listen("intake.*", delivered.append)
        for name in ("ada", "bob"):
            h.start("intake", instance_id=name, input={"applicant": name})
            h.send(name, "SUBMIT")
        h.advance("1d")
        h.send("bob", "APPROVE")

        h.advance("1d 1h")

        h.assert_state("ada", "escalated")
        h.assert_state("bob", "approved")
        assert [(m.instance_id, m.event["type"]) for m in delivered] == [
            ("ada", "intake.submitted"),
            ("bob", "intake.submitted"),
            ("bob", "intake.approved"),
            ("ada", "intake.escalated"),
        ]
        escalations = [e for e in h.engine.history("ada") if e.event["type"] == "ESCALATE"]
        assert [e.actor for e in escalations] == ["schedule:escalate-stale-reviews"]

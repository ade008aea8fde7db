"""The day-to-day commands, run in process in a project made by `statewright init`, against a
real SQLite file: what they print, their JSON, and their exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app
from statewright.engine import Engine
from statewright.store.url import URL_VARIABLE

runner = CliRunner(env={"COLUMNS": "200"})


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def data(result: Result) -> object:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def start(instance_id: str, amount: int) -> Result:
    order = json.dumps({"orderId": instance_id, "amount": amount})
    return run("start", "order", "--id", instance_id, "--input", order)


@pytest.mark.slow
def test_init_makes_a_project_whose_own_test_passes(tmp_path: Path) -> None:
    result = run("init", str(tmp_path / "new"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "new" / "statewright.toml").is_file()
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=tmp_path / "new",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout


def test_init_refuses_to_overwrite_a_project(project: Path) -> None:
    again = run("init", str(project))
    assert again.exit_code == 4
    assert "exist already" in again.output and "nothing was written" in again.output


@pytest.mark.slow
def test_start_send_show_and_history_in_a_project(project: Path) -> None:
    started = start("A-1", 2500)
    assert started.exit_code == 0, started.output
    assert "A-1 started: pending_approval (waiting)" in started.stdout
    assert (project / "statewright.db").is_file()  # the url of statewright.toml

    refused = run("send", "A-1", "APROVE", "by=ann", "--json")
    assert refused.exit_code == 1
    error = json.loads(refused.stdout)
    assert error["error"] == "EventNotAccepted"
    assert error["accepted"] == ["APPROVE", "REJECT"]
    assert error["state"] == "pending_approval"

    sent = run("send", "A-1", "APPROVE", "by=ann", "--actor", "ann")
    assert sent.exit_code == 0, sent.output
    assert "A-1 version 2: pending_approval → paying (running)" in sent.stdout

    shown = run("show", "A-1")
    assert shown.exit_code == 0, shown.output
    for part in ("paying (active)", "running", '"approvedBy": "ann"', "chargeCard", "APPROVE"):
        assert part in shown.stdout
    whole = data(run("show", "A-1", "--json"))
    assert isinstance(whole, dict)
    assert (whole["state"], whole["runtime_status"], whole["version"]) == ("paying", "running", 2)
    assert [step["invoke_id"] for step in whole["steps"]] == ["charge"]
    assert [entry["event"]["type"] for entry in whole["history"]] == ["xstate.init", "APPROVE"]

    timeline = data(run("history", "A-1", "--json"))
    assert isinstance(timeline, list) and timeline[1]["actor"] == "ann"
    assert "pending_approval → paying" in run("history", "A-1").stdout

    assert run("show", "nobody").exit_code == 3
    bad = run("start", "order", "--input", "{not json")
    assert bad.exit_code == 2 and "is not JSON" in bad.output


@pytest.mark.slow
def test_list_filters_by_state_and_tag_pages_and_counts(project: Path) -> None:
    for number, amount in enumerate([2500, 2500, 25, 2500]):
        assert start(f"A-{number}", amount).exit_code == 0
    listed = data(run("list", "--state", "pending_approval", "--json", "--limit", "2"))
    assert isinstance(listed, dict)
    assert [i["id"] for i in listed["instances"]] == ["A-0", "A-1"]
    rest = data(
        run("list", "--state", "pending_approval", "--json", "--cursor", listed["next_cursor"])
    )
    assert isinstance(rest, dict)
    assert [i["id"] for i in rest["instances"]] == ["A-3"] and rest["next_cursor"] is None
    tagged = data(run("list", "--tag", "needs-human", "--json"))
    assert isinstance(tagged, dict) and len(tagged["instances"]) == 3
    counts = data(run("list", "--count", "--json"))
    assert isinstance(counts, list)
    assert {(c["state"], c["count"]) for c in counts} == {("pending_approval", 3), ("paying", 1)}
    text = run("list", "--count")
    assert "pending_approval" in text.stdout and "4 in all" in text.stdout
    assert "A-2" in run("list", "--runtime-status", "running").stdout
    typo = run("list", "--definition", "order", "--state", "pending_aproval")
    assert typo.exit_code == 2 and 'did you mean "pending_approval"' in typo.output
    assert run("list", "--state", "x", "--tag", "y").exit_code == 2


@pytest.mark.slow
def test_list_finds_instances_by_the_start_of_their_id(project: Path) -> None:
    for instance_id in ("A-1", "A-10", "A-100", "A-2", "a-10"):
        assert start(instance_id, 2500).exit_code == 0
    listed = data(run("list", "--id-prefix", "A-1", "--json", "--limit", "2"))
    assert isinstance(listed, dict)
    assert [i["id"] for i in listed["instances"]] == ["A-1", "A-10"]
    rest = data(run("list", "--id-prefix", "A-1", "--json", "--cursor", listed["next_cursor"]))
    assert isinstance(rest, dict)
    assert [i["id"] for i in rest["instances"]] == ["A-100"] and rest["next_cursor"] is None
    text = run("list", "--id-prefix", "A-10", "--state", "pending_approval").stdout
    assert "A-100" in text and "A-2" not in text and "a-10" not in text
    assert run("list", "--id-prefix", "").exit_code == 2
    assert run("list", "--id-prefix", "A", "--count").exit_code == 2


@pytest.mark.slow
def test_accepted_and_cancel(project: Path) -> None:
    assert start("A-1", 2500).exit_code == 0
    accepted = data(run("accepted", "A-1", "--json"))
    assert isinstance(accepted, dict)
    assert [e["type"] for e in accepted["events"]] == ["APPROVE", "REJECT"]
    assert accepted["events"][0]["roles"] is None
    assert "APPROVE" in run("accepted", "A-1").stdout

    cancelled = run("cancel", "A-1", "--reason", "customer called", "--actor", "ann")
    assert cancelled.exit_code == 0, cancelled.output
    assert "A-1 stopped at version 2 in pending_approval: 1 timer(s)" in cancelled.stdout
    again = run("cancel", "A-1", "--json")
    assert again.exit_code == 4
    assert json.loads(again.stdout)["status"] == "stopped"
    assert "accepts no event now" in run("accepted", "A-1").stdout
    assert run("cancel", "nobody").exit_code == 3


@pytest.mark.slow
def test_retry_a_failed_step_now_and_the_refusals(project: Path) -> None:
    assert start("A-1", 9000).exit_code == 0
    assert run("send", "A-1", "APPROVE", "by=ann").exit_code == 0
    pending = run("retry", "A-1", "charge", "--json")
    assert pending.exit_code == 1
    assert json.loads(pending.stdout)["reason"] == "pending"
    worked = run("worker", "--once")  # no flags: statewright.toml names everything
    assert worked.exit_code == 0, worked.output
    shown = data(run("show", "A-1", "--json"))
    assert isinstance(shown, dict)
    (step,) = shown["steps"]
    assert (step["status"], step["attempts"]) == ("retrying", 1)
    assert "card declined" in step["last_error"]

    retried = run("retry", "A-1")
    assert retried.exit_code == 0, retried.output
    assert "step charge (chargeCard) is due now" in retried.stdout
    assert "attempt 2 of 3 next" in retried.stdout
    missing = run("retry", "A-1", "chrage")
    assert missing.exit_code == 1 and 'did you mean "charge"?' in missing.output


@pytest.mark.slow
def test_a_paid_orders_message_is_delivered_and_the_order_can_then_be_pruned(
    project: Path,
) -> None:
    """The project `init` makes listens for the order.paid its definition emits: a worker
    delivers it, so nothing holds the finished order back from prune."""
    assert start("A-1", 25).exit_code == 0
    assert run("worker", "--once").exit_code == 0
    with Engine.open(f"sqlite:///{project / 'statewright.db'}") as engine:
        assert engine.get("A-1").value == "paid"
        assert engine.store.due_outbox(engine.clock.now() + 10**9, 10) == []
    pruned = data(run("prune", "--finished-before", "0s", "--json"))
    assert isinstance(pruned, dict) and pruned["held"].get("undelivered_outbox", 0) == 0


@pytest.mark.slow
def test_dead_letters_and_redrive(project: Path) -> None:
    setup = project / "implementations.py"  # nobody listens: order.paid stays in the outbox
    setup.write_text(setup.read_text().replace('LISTENERS = {"order.paid": order_paid}', ""))
    assert start("A-1", 25).exit_code == 0
    assert run("worker", "--once").exit_code == 0  # paid: order.paid is in the outbox
    with Engine.open(f"sqlite:///{project / 'statewright.db'}") as engine:
        (message,) = engine.store.due_outbox(engine.clock.now() + 1, 10)
        engine.store.outbox_failed(message, error="listener: boom", next_attempt_at=0, dead=True)
    listed = data(run("dead-letters", "--json"))
    assert isinstance(listed, dict)
    (letter,) = listed["dead_letters"]
    assert (letter["message_id"], letter["event"]) == (message.message_id, {"type": "order.paid"})
    assert "listener: boom" in run("dead-letters").stdout
    assert run("redrive").exit_code == 2  # neither an id, a filter nor --all
    dry = data(run("redrive", "--all", "--dry-run", "--json"))
    assert isinstance(dry, dict) and isinstance(dry.pop("as_of"), int)
    assert dry == {"redriven": 0, "matched": 1, "dry_run": True}
    redriven = run("redrive", message.message_id)
    assert redriven.exit_code == 0 and "1 dead letter(s) redriven" in redriven.stdout
    assert "no dead letters" in run("dead-letters").stdout
    assert run("redrive", message.message_id).exit_code == 3


def test_a_definition_filter_naming_no_definition_is_refused(project: Path) -> None:
    assert start("A-1", 2500).exit_code == 0
    listed = run("list", "--definition", "ordr")
    assert listed.exit_code == 3
    assert "no such definition" in listed.stderr and "did you mean 'order'?" in listed.stderr
    assert run("list", "--definition", "ordr", "--count").exit_code == 3
    refused = run("bulk", "cancel", "--definition", "ordr", "--json")
    assert refused.exit_code == 3 and json.loads(refused.stdout)["error"] == "NotFound"
    assert run("bulk", "retry", "--definition", "nope", "--dry-run").exit_code == 3
    assert data(run("bulk", "cancel", "--definition", "order", "--dry-run", "--json"))
    assert run("show", "A-1").exit_code == 0  # nothing was cancelled
    kept = data(run("list", "--definition", "order", "--json"))
    assert isinstance(kept, dict) and [i["id"] for i in kept["instances"]] == ["A-1"]


def test_paths_in_a_project_takes_its_implementations_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order's guard is written in Python (implementations.py): paths finds it there."""
    found = run("paths", "definitions/order.json", "--input",
                '{"orderId": "A-1", "amount": 2500}', "--json")  # fmt: skip
    assert found.exit_code == 0, found.output
    states = {json.dumps(path["state"]) for path in json.loads(found.stdout)}
    assert '"paid"' in states, states
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "order.json").write_text((project / "definitions" / "order.json").read_text())
    monkeypatch.chdir(elsewhere)  # outside the project: the guard is missing, as before
    assert run("paths", "order.json").exit_code != 0


def test_redrive_as_of_leaves_a_letter_dead_since_the_count_alone(project: Path) -> None:
    setup = project / "implementations.py"  # nobody listens: order.paid stays in the outbox
    setup.write_text(setup.read_text().replace('LISTENERS = {"order.paid": order_paid}', ""))
    for number in (1, 2):
        assert start(f"A-{number}", 25).exit_code == 0
    assert run("worker", "--once").exit_code == 0
    with Engine.open(f"sqlite:///{project / 'statewright.db'}") as engine:
        first, second = engine.store.due_outbox(engine.clock.now() + 1, 10)
        engine.store.outbox_failed(first, error="boom", next_attempt_at=0, dead=True)
        dry = run("redrive", "--all", "--dry-run")
        assert "1 dead letter(s) would be redriven" in dry.stdout
        as_of = dry.stdout.split("--as-of ")[1].split()[0]
        engine.store.outbox_failed(second, error="boom", next_attempt_at=0, dead=True)
    redriven = run("redrive", "--all", "--as-of", as_of)
    assert redriven.exit_code == 0 and "1 dead letter(s) redriven" in redriven.stdout
    left = data(run("dead-letters", "--json"))
    assert isinstance(left, dict)
    assert [letter["message_id"] for letter in left["dead_letters"]] == [second.message_id]
    assert run("redrive", "--all", "--as-of", "-1").exit_code == 2


def test_bulk_as_of_leaves_an_instance_changed_since_the_count_alone(project: Path) -> None:
    for number in (1, 2):
        assert start(f"A-{number}", 2500).exit_code == 0
    dry = data(run("bulk", "cancel", "--state", "pending_approval", "--dry-run", "--json"))
    assert isinstance(dry, dict) and dry["matched"] == 2
    assert run("send", "A-1", "APPROVE", "by=ann").exit_code == 0  # changed since the count
    cancelled = run("bulk", "cancel", "--all", "--as-of", str(dry["as_of"]), "--json")
    assert cancelled.exit_code == 0, cancelled.output
    answer = data(cancelled)
    assert isinstance(answer, dict)
    assert (answer["done"], answer["changed"]) == (["A-2"], ["A-1"])
    text = run("bulk", "cancel", "--all", "--dry-run")
    assert "add --as-of " in text.stdout


def test_the_store_url_comes_from_url_then_env_then_the_project(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.db"
    monkeypatch.setenv(URL_VARIABLE, f"sqlite:///{other}")
    assert run("list").exit_code == 5  # the env's store does not exist: it is not created
    given = tmp_path / "given.db"
    with Engine.open(f"sqlite:///{given}"):
        pass
    assert run("list", "--url", f"sqlite:///{given}").exit_code == 0


@pytest.mark.slow
def test_bulk_commands_over_a_filter(project: Path) -> None:
    for number, amount in enumerate([2500, 2500, 25]):
        assert start(f"A-{number}", amount).exit_code == 0
    assert run("bulk", "cancel").exit_code == 2  # no filter and no --all
    dry = data(run("bulk", "send", "APPROVE", "by=ops", "--state", "pending_approval",
                   "--dry-run", "--json"))  # fmt: skip
    assert isinstance(dry, dict) and isinstance(dry.pop("as_of"), int)
    assert dry == {
        "matched": 2,
        "dry_run": True,
        "done": [],
        "refused": {},
        "changed": [],
        "would_act": 2,
        "would_skip": [],
        "guarded": 0,
    }
    sent = run("bulk", "send", "APPROVE", "by=ops", "--state", "pending_approval")
    assert sent.exit_code == 0 and "2 matched: 2 sent, 0 refused" in sent.stdout
    refused = run("bulk", "send", "APPROVE", "--definition", "order", "--json")
    assert refused.exit_code == 1
    assert set(json.loads(refused.stdout)["refused"]) == {"A-0", "A-1", "A-2"}
    cancelled = run("bulk", "cancel", "--all", "--reason", "closing")
    assert cancelled.exit_code == 0 and "3 matched: 3 cancelled" in cancelled.stdout
    retried = run("bulk", "retry", "--all")
    assert retried.exit_code == 1  # stopped: nothing waits
    refusals = [line.strip() for line in retried.stdout.splitlines()[1:]]
    assert len(refusals) == 3 and all(line.count("A-") == 1 for line in refusals), refusals


def test_a_broken_project_file_is_refused_naming_the_key(project: Path) -> None:
    (project / "statewright.toml").write_text('[statewright]\nurll = "sqlite:///x.db"\n')
    result = run("list")
    assert result.exit_code == 2
    assert "unknown key 'urll'" in result.output and "url, definitions" in result.output
    (project / "statewright.toml").write_text("[statewright\n")
    assert run("list").exit_code == 2


def test_a_subfolder_of_the_project_uses_its_store_and_tenant(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = project / "statewright.toml"
    toml.write_text(toml.read_text() + 'tenant = "acme"\n')
    assert start("A-1", 2500).exit_code == 0
    monkeypatch.chdir(project / "definitions")
    listed = data(run("list", "--json"))
    assert isinstance(listed, dict)
    assert [(i["tenant"], i["id"]) for i in listed["instances"]] == [("acme", "A-1")]
    assert run("show", "A-1", "--tenant", "default").exit_code == 3

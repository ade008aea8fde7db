"""`statewright worker`: drains due work with --once; stops gracefully on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from statewright import Machine
from statewright.cli import app
from statewright.engine import Engine

runner = CliRunner()

MACHINES = """
from statewright import Machine

MACHINES = [Machine.from_config({
    "id": "quick",
    "initial": "a",
    "states": {
        "a": {"after": {"0": "b"}},
        "b": {"invoke": {"id": "job", "src": "job", "onDone": "c"}},
        "c": {"type": "final"},
    },
}, actors={"job": lambda input: {"ok": True}})]
"""


def prepare(url: str, folder: Path) -> Path:
    machines = folder / "machines.py"
    machines.write_text(MACHINES)
    namespace: dict[str, object] = {}
    exec(compile(MACHINES, str(machines), "exec"), namespace)
    (machine,) = namespace["MACHINES"]  # type: ignore[misc]
    assert isinstance(machine, Machine)
    with Engine.open(url) as engine:
        engine.register(machine)
        engine.start("quick", instance_id="q-1")
    return machines


def test_once_drains_the_due_work(store_url: str, tmp_path: Path) -> None:
    machines = prepare(store_url, tmp_path)

    result = runner.invoke(
        app, ["worker", "--url", store_url, "--machines", str(machines), "--once"]
    )

    assert result.exit_code == 0, result.output
    assert "ran 2 units of due work" in result.output
    with Engine.open(store_url) as engine:
        assert engine.get("q-1").status == "done"


@pytest.mark.slow
def test_sigterm_stops_the_worker_gracefully(store_url: str, tmp_path: Path) -> None:
    machines = prepare(store_url, tmp_path)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "statewright",
            "worker",
            "--url",
            store_url,
            "--machines",
            str(machines),
            "--poll",
            "0.05",
            "--log",
            "json",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    deadline = time.monotonic() + 30
    with Engine.open(store_url) as engine:
        while engine.get("q-1").status != "done" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert engine.get("q-1").status == "done"
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=30)

    assert worker.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]  # --log json: one object a line
    messages = [line["message"] for line in lines]
    assert any("finishing the current work, then stopping" in m for m in messages), messages
    assert messages[-1] == "worker stopped"
    assert {line["logger"] for line in lines} == {"statewright.worker"}
    assert all({"time", "level"} <= set(line) for line in lines)


REACTING = """
from statewright import Machine

MACHINES = [
    Machine.from_config({
        "id": "relay",
        "initial": "waiting",
        "states": {
            "waiting": {"after": {"0": {"target": "passed", "actions": [
                {"type": "emit", "params": {"event": {"type": "relay.passed"}}}]}}},
            "passed": {"type": "final"},
        },
    }),
    Machine.from_config({
        "id": "catcher",
        "initial": "waiting",
        "states": {"waiting": {"on": {"TAKE": "caught"}}, "caught": {"type": "final"}},
    }),
]


def pass_it_on(message):
    message.engine.send("catcher-1", "TAKE", tenant=message.tenant, idempotency_key=message.id)


LISTENERS = {"relay.*": pass_it_on}
"""


@pytest.mark.slow
def test_a_listener_in_the_setup_file_reacts_and_the_json_log_has_the_facts(
    store_url: str, tmp_path: Path
) -> None:
    setup = tmp_path / "relay_setup.py"
    setup.write_text(REACTING)
    namespace: dict[str, object] = {}
    exec(compile(REACTING, str(setup), "exec"), namespace)
    machines = namespace["MACHINES"]
    assert isinstance(machines, list)
    with Engine.open(store_url) as engine:
        for machine in machines:
            engine.register(machine)
        engine.start("relay", instance_id="relay-1", tenant="acme")
        engine.start("catcher", instance_id="catcher-1", tenant="acme")

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "statewright",
            "worker",
            "--url",
            store_url,
            "--machines",
            str(setup),
            "--once",
            "--log",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )

    assert done.returncode == 0, done.stderr
    facts = [json.loads(line) for line in done.stderr.splitlines()]
    by_kind = {line.get("kind"): line for line in facts}
    assert by_kind["timer_fired"]["instance_id"] == "relay-1"
    assert by_kind["timer_fired"]["tenant"] == "acme"
    delivered = by_kind["message_delivered"]
    assert (delivered["instance_id"], delivered["tenant"], delivered["event_type"]) == (
        "relay-1",
        "acme",
        "relay.passed",
    )
    with Engine.open(store_url) as engine:
        assert engine.get("relay-1", tenant="acme").status == "done"
        assert engine.get("catcher-1", tenant="acme").value == "caught"


HELD = """
import json
from statewright import Machine

MACHINES = [Machine.from_config({
    "id": "held",
    "initial": "a",
    "states": {"a": {"after": {"0": {"target": "b", "actions": [
        {"type": "emit", "params": {"event": {"type": "held.note"}}}]}}}, "b": {}},
})]


def note_the_claim(message):
    (record,) = message.engine.store.outbox(message.tenant, message.instance_id)
    with open(REPORT, "w") as report:
        now = message.engine.clock.now()
        json.dump({"lease_until": record.next_attempt_at, "now": now}, report)


LISTENERS = {"held.*": note_the_claim}
"""


@pytest.mark.parametrize("seconds", [None, "2.5"])
def test_outbox_lease_sets_how_long_a_claimed_message_is_held(
    store_url: str, tmp_path: Path, seconds: str | None
) -> None:
    report = tmp_path / "claim.json"
    setup = tmp_path / "held_setup.py"
    setup.write_text(f"REPORT = {str(report)!r}\n{HELD}")
    namespace: dict[str, object] = {}
    exec(compile(setup.read_text(), str(setup), "exec"), namespace)
    (machine,) = namespace["MACHINES"]  # type: ignore[misc]
    with Engine.open(store_url) as engine:
        engine.register(machine)
        engine.start("held", instance_id="h-1")
    args = ["worker", "--url", store_url, "--machines", str(setup), "--once"]
    before_ms = time.time() * 1000

    result = runner.invoke(app, args if seconds is None else [*args, "--outbox-lease", seconds])

    assert result.exit_code == 0, result.output
    assert "ran 2 units of due work" in result.output  # the timer, then the delivery
    claim = json.loads(report.read_text())
    lease_ms = 30_000 if seconds is None else 2_500
    claimed_at = claim["lease_until"] - lease_ms
    assert before_ms - 1 <= claimed_at <= claim["now"]


def test_an_outbox_lease_of_zero_is_refused_before_anything_runs(
    store_url: str, tmp_path: Path
) -> None:
    machines = prepare(store_url, tmp_path)

    args = ["worker", "--url", store_url, "--machines", str(machines), "--once"]

    result = runner.invoke(app, [*args, "--outbox-lease", "0"])

    assert result.exit_code == 2
    assert "--outbox-lease" in result.output
    with Engine.open(store_url) as engine:
        assert engine.get("q-1").value == "a"


@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_a_webhook_whose_deadline_outlasts_the_outbox_lease_stops_the_worker_at_start(
    store_url: str, tmp_path: Path
) -> None:
    setup = tmp_path / "hook_setup.py"
    setup.write_text(
        f"REPORT = {str(tmp_path / 'unused.json')!r}\n{HELD}\n"
        "from statewright.runtime.webhooks import Webhook\n"
        "LISTENERS = {'held.*': Webhook('http://127.0.0.1:9/hook', 'secret')}\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(setup.read_text(), str(setup), "exec"), namespace)
    (machine,) = namespace["MACHINES"]  # type: ignore[misc]
    with Engine.open(store_url) as engine:
        engine.register(machine)
        engine.start("held", instance_id="h-1")
    args = ["worker", "--url", store_url, "--machines", str(setup), "--once"]

    result = runner.invoke(app, [*args, "--outbox-lease", "10"])

    assert result.exit_code == 1
    assert " ".join(result.output.split()) == (
        f"{setup}: Webhook(http://127.0.0.1:9/hook, deadline_s=10) for 'held.*': its deadline "
        "(10 s) is not shorter than the outbox lease (10 s: the worker's outbox_lease_ms, "
        "--outbox-lease), so another worker could deliver a message while it still runs; give "
        "it a shorter deadline_s, or a longer outbox lease"
    )
    with Engine.open(store_url) as engine:
        assert engine.get("h-1").value == "a"  # its timer did not fire


REJECTING = """
from statewright import Machine

MACHINES = [Machine.from_config({
    "id": "held",
    "initial": "a",
    "states": {"a": {"after": {"0": {"target": "b", "actions": [
        {"type": "emit", "params": {"event": {"type": "held.note"}}}]}}}, "b": {}},
})]


class AddressRejected(Exception):
    pass


def reject(message):
    raise AddressRejected("no such mailbox")


LISTENERS = {"held.*": reject}
"""


def rejecting_setup(store_url: str, tmp_path: Path, policy: str) -> Path:
    """REJECTING with `policy` as a setup file, its machine registered and h-1 started."""
    setup = tmp_path / "rejecting_setup.py"
    setup.write_text(f"{REJECTING}\n{policy}\n")
    namespace: dict[str, object] = {}
    exec(compile(setup.read_text(), str(setup), "exec"), namespace)
    (machine,) = namespace["MACHINES"]  # type: ignore[misc]
    with Engine.open(store_url) as engine:
        engine.register(machine)
        engine.start("held", instance_id="h-1")
    return setup


@pytest.mark.parametrize(
    ("policy", "status"),
    [("OUTBOX_RETRY = {'nonRetryable': ['AddressRejected']}", "dead"), ("", "pending")],
    ids=["non-retryable", "default"],
)
def test_the_setup_files_outbox_retry_is_the_workers(
    store_url: str, tmp_path: Path, policy: str, status: str
) -> None:
    setup = rejecting_setup(store_url, tmp_path, policy)

    result = runner.invoke(app, ["worker", "--url", store_url, "--machines", str(setup), "--once"])

    assert result.exit_code == 0, result.output
    with Engine.open(store_url) as engine:
        (message,) = engine.store.outbox("default", "h-1")
        assert (message.status, message.attempts) == (status, 1)


def test_an_outbox_retry_written_wrong_stops_the_worker_naming_the_file(
    store_url: str, tmp_path: Path
) -> None:
    setup = rejecting_setup(store_url, tmp_path, "OUTBOX_RETRY = {'atempts': 3}")

    result = runner.invoke(app, ["worker", "--url", store_url, "--machines", str(setup), "--once"])

    assert result.exit_code == 2, result.output
    assert f"{setup}: OUTBOX_RETRY.atempts: unknown retry option 'atempts'" in " ".join(
        result.output.split()
    )
    with Engine.open(store_url) as engine:
        assert engine.get("h-1").value == "a"  # nothing ran


@pytest.mark.parametrize("empty_store_url", ["sqlite"], indirect=True)
def test_two_schedules_of_one_name_stop_the_worker_before_anything_runs(
    store_url: str, tmp_path: Path
) -> None:
    machines = prepare(store_url, tmp_path)
    machines.write_text(
        MACHINES
        + "SCHEDULES = [\n"
        + "    {'name': 'nightly', 'cron': '0 2 * * *', 'action': {'start': 'quick'}},\n"
        + "    {'name': 'nightly', 'cron': '*/5 * * * *', 'action': {'start': 'quick'}},\n"
        + "]\n"
    )

    result = runner.invoke(
        app, ["worker", "--url", store_url, "--machines", str(machines), "--once"]
    )

    assert result.exit_code == 1, result.output
    assert " ".join(result.output.split()) == (
        f"{machines}: schedule 'nightly': this worker runs a schedule of that name already "
        "('0 2 * * *' in UTC); its ticks are claimed by name, so give each schedule a name of "
        "its own, or drop one"
    )
    with Engine.open(store_url) as engine:
        assert engine.get("q-1").value == "a"  # its timer did not fire
        assert engine.schedules() == []

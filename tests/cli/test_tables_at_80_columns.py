"""Tables at 80 columns (a pipe's width, and a small terminal's): ids, statuses, roles,
tenants and times come out whole, on one line, however narrow; free text wraps."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from typer.testing import CliRunner, Result

from statewright.cli import app
from statewright.cli.tables import print_table, text, whole
from statewright.engine import Engine

narrow = CliRunner(env={"COLUMNS": "80"})
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ?")


def run(*args: str) -> Result:
    result = narrow.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def project(project: Path) -> Path:
    """The init project with two orders under generated ids."""
    for amount in (2500, 2600):
        run("start", "order", "--input", json.dumps({"orderId": "X", "amount": amount}))
    return project


def ids() -> list[str]:
    return [i["id"] for i in json.loads(run("list", "--json").stdout)["instances"]]


def rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


@pytest.mark.slow
def test_list_shows_generated_ids_and_times_whole(project: Path) -> None:
    generated = ids()
    assert len(generated) == 2 and all(len(i) == 32 for i in generated)
    listed = run("list").stdout
    for instance_id in generated:
        (row,) = [line for line in rows(listed) if instance_id in line]
        assert "pending_approval" in row and "waiting" in row and TIME.search(row)
    assert "…" not in listed
    counted = run("list", "--count").stdout
    assert "pending_approval" in counted and "…" not in counted


@pytest.mark.slow
def test_tokens_list_keeps_tenants_roles_and_times_whole(project: Path) -> None:
    run("tokens", "create", "--role", "operator", "--tenant", "tenant-with-a-long-name")
    run("tokens", "create", "--role", "viewer", "--name", "a name of a few words")
    tokens = json.loads(run("tokens", "list", "--json").stdout)
    assert {t["tenant"] for t in tokens} == {"tenant-with-a-long-name", "default"}
    listed = run("tokens", "list").stdout
    for token in tokens:
        words = (token["prefix"], token["tenant"], token["role"])
        (row,) = [line for line in rows(listed) if token["prefix"] in line]
        assert all(word in row.split() for word in words) and TIME.search(row), listed


@pytest.mark.slow
def test_show_keeps_the_timer_id_whole(project: Path) -> None:
    shown = run("show", ids()[0]).stdout
    assert "xstate.after.48h.order.pending_approval" in shown
    assert ids()[0] in run("accepted", ids()[0]).stdout


@pytest.mark.slow
def test_dead_letters_show_message_and_instance_ids_whole(project: Path) -> None:
    setup = project / "implementations.py"  # nobody listens: order.paid stays in the outbox
    setup.write_text(setup.read_text().replace('LISTENERS = {"order.paid": order_paid}', ""))
    run("start", "order", "--input", json.dumps({"orderId": "Y", "amount": 25}))
    run("worker", "--once")
    with Engine.open(f"sqlite:///{project / 'statewright.db'}") as engine:
        (message,) = engine.store.due_outbox(engine.clock.now() + 1, 10)
        engine.store.outbox_failed(message, error="listener: boom", next_attempt_at=0, dead=True)
    listed = run("dead-letters").stdout
    (row,) = [line for line in rows(listed) if message.message_id in line]
    assert message.instance_id in row and TIME.search(row), listed


def printed(table: Table, width: int) -> str:
    out = io.StringIO()
    print_table(Console(file=out, width=width, highlight=False, soft_wrap=True), table)
    return out.getvalue()


def test_a_table_wider_than_the_console_keeps_whole_columns_whole() -> None:
    table = Table(whole("id"), text("note"), whole("status"))
    long_id = "f5bbff607356" * 4
    note = "a note of several short words"
    table.add_row(long_id, note, "retrying")
    shown = printed(table, 40)
    lines = shown.splitlines()
    assert long_id in shown and any("retrying" in line for line in lines)
    assert all(word in shown.split() for word in note.split())
    assert len(lines) > 5  # the note wrapped, over several lines


def test_a_text_column_keeps_its_words_up_to_twenty_characters() -> None:
    table = Table(whole("id"), text("state"))
    table.add_row("A-1", "pending_approval and_more_words_here")
    shown = printed(table, 20)
    assert "pending_approval" in shown and "and_more_words_here" in shown


def test_a_table_that_fits_is_printed_as_rich_prints_it() -> None:
    def made() -> Table:
        table = Table(whole("id"), text("note"))
        table.add_row("A-1", "short")
        return table

    out = io.StringIO()
    Console(file=out, width=80, highlight=False, soft_wrap=True).print(made())
    assert printed(made(), 80) == out.getvalue()


def on_a_terminal(table: Table, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, force_terminal=True, color_system=None)
    print_table(console, table)
    return out.getvalue()


def instances_table() -> Table:
    table = Table(whole("id"), text("state"), whole("status"), whole("updated"))
    table.title = "2 instances"
    for number in (1, 2):
        table.add_row(f"f5bbff607356{number}" * 2, "pending_approval", "active", "2026-12-07")
    return table


def test_a_table_too_wide_for_a_terminal_is_printed_as_records_within_its_width() -> None:
    shown = on_a_terminal(instances_table(), 40)
    lines = shown.splitlines()
    assert lines[0] == "2 instances"
    assert max(len(line.rstrip()) for line in lines) <= 40
    for number in (1, 2):
        (rule,) = [line for line in lines if line.startswith(f"{number} ─")]
        record = lines[lines.index(rule) + 1 : lines.index(rule) + 5]
        assert [line.split() for line in record] == [
            ["id", f"f5bbff607356{number}" * 2],
            ["state", "pending_approval"],
            ["status", "active"],
            ["updated", "2026-12-07"],
        ]


def test_the_same_table_to_a_pipe_keeps_one_whole_line_per_row() -> None:
    shown = printed(instances_table(), 40)
    (row,) = [line for line in shown.splitlines() if "f5bbff6073561" in line]
    assert all(word in row for word in ("pending_approval", "active", "2026-12-07"))


def test_a_table_that_fits_a_terminal_stays_a_table() -> None:
    shown = on_a_terminal(instances_table(), 100)
    (row,) = [line for line in shown.splitlines() if "f5bbff6073561" in line]
    assert "pending_approval" in row and not any(
        line.startswith("1 ─") for line in shown.splitlines()
    )

"""`list` and `bulk` without `--definition`: a `--state` no definition has, or a `--tag` none
declares, is refused with the near miss across every definition (exit 2), not listed empty;
one that some definition has filters as ever."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from statewright.cli import app

runner = CliRunner(env={"COLUMNS": "200"})

#: A second definition beside the project's order, with a tag and a nested state of its own.
REVIEW = {
    "id": "review",
    "initial": "draft",
    "states": {
        "draft": {"on": {"SUBMIT": "checking"}},
        "checking": {
            "tags": ["busy"],
            "initial": "legal",
            "states": {"legal": {"on": {"OK": "#review.done"}}},
        },
        "done": {"type": "final"},
    },
}


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


@pytest.fixture
def project(project: Path) -> Path:
    """The init project with order and review, and the order A-1 pending."""
    (project / "definitions" / "review.json").write_text(json.dumps(REVIEW))
    order = json.dumps({"orderId": "A-1", "amount": 2500})
    started = run("start", "order", "--id", "A-1", "--input", order)
    assert started.exit_code == 0, started.output
    assert run("start", "review", "--id", "R-1").exit_code == 0
    return project


def listed(*args: str) -> list[str]:
    result = run("list", "--json", *args)
    assert result.exit_code == 0, result.output
    return [instance["id"] for instance in json.loads(result.stdout)["instances"]]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["list", "--state", "payed"], "no definition has a state 'payed'; did you mean \"paid\" "),
        (["list", "--state", "checking.legl"], 'did you mean "checking.legal" (in review)?'),
        (["list", "--state", "payed", "--count"], 'did you mean "paid" (in order)?'),
        (["list", "--tag", "needs-humn"], 'did you mean "needs-human" (in order)?'),
        (["list", "--tag", "bussy"], "no definition declares a tag 'bussy'; did you mean"),
        (["list", "--tag", "zzz"], "the tags are busy, needs-human"),
        (["bulk", "cancel", "--state", "pending_aproval", "--dry-run"], '"pending_approval"'),
        (["bulk", "cancel", "--state", "pending_aproval"], '"pending_approval" (in order)?'),
        (["bulk", "retry", "--tag", "needs-humn"], 'did you mean "needs-human"'),
        (["bulk", "send", "APPROVE", "--state", "pending_aproval"], '"pending_approval"'),
        (["list", "--definition", "review", "--tag", "needs-human"], "review' declares no tag"),
    ],
)
def test_a_state_or_tag_no_definition_has_is_refused_naming_the_near_miss(
    project: Path, args: list[str], said: str
) -> None:
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert said in result.stderr
    assert listed("--status", "active") == ["A-1", "R-1"]  # nothing was cancelled or sent


@pytest.mark.slow
def test_a_state_or_tag_some_definition_has_filters_as_before(project: Path) -> None:
    assert listed("--state", "pending_approval") == ["A-1"]
    assert listed("--state", "checking") == []  # review's: no instance is in it
    assert listed("--state", "draft") == ["R-1"]
    assert listed("--tag", "needs-human") == ["A-1"]
    assert listed("--tag", "busy") == []
    counted = run("bulk", "cancel", "--state", "draft", "--dry-run")
    assert counted.exit_code == 0 and "1 instance(s) match" in counted.stdout


@pytest.mark.slow
def test_the_refusal_is_json_with_json(project: Path) -> None:
    result = run("list", "--state", "payed", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"] == "PayloadError"

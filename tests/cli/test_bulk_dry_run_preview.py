"""`bulk --dry-run` says what the operation would do to the instances matched as they stand:
how many it would change and how many it would skip, and why; and `bulk send` of an event
that no state of the definition takes is refused before anything, naming the near miss."""

from __future__ import annotations

import json
from pathlib import Path

from test_commands import data, run, start


def test_a_bulk_dry_run_says_how_many_it_would_change_and_skip(project: Path) -> None:
    for number in (1, 2, 3):
        assert start(f"P-{number}", 2500).exit_code == 0
    assert run("cancel", "P-3").exit_code == 0
    text = run("bulk", "cancel", "--definition", "order", "--dry-run")
    assert text.exit_code == 0, text.output
    assert "3 instance(s) match: nothing cancelled (dry run)" in text.stdout
    assert "2 would be cancelled; 1 skipped: 1 stopped already" in text.stdout
    answer = data(run("bulk", "send", "REJECT", "--definition", "order", "--dry-run", "--json"))
    assert isinstance(answer, dict) and answer["would_act"] == 2
    assert answer["would_skip"] == [
        {"reason": "not_active", "count": 1, "detail": "stopped already"}
    ]


def test_a_bulk_send_of_an_event_the_definition_lacks_is_refused(project: Path) -> None:
    assert start("P-1", 2500).exit_code == 0
    refused = run("bulk", "send", "APROVE", "--definition", "order", "--dry-run")
    assert refused.exit_code == 2, refused.output
    assert "definition 'order' has no event 'APROVE'" in refused.output
    assert 'did you mean "APPROVE"?' in refused.output
    assert json.loads(run("show", "P-1", "--json").stdout)["version"] == 1

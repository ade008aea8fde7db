"""Refusing instance filters that can match nothing, before `list` or `bulk` runs: a
`--definition` the store does not have (exit 3), a `--state` no definition has or a `--tag`
none declares (exit 2), each naming the near miss. Misspelt, they would list nothing, and a
bulk operation would act on none, saying nothing."""

from __future__ import annotations

import difflib

from statewright.cli.session import Session
from statewright.errors import NotFound

__all__ = ["check_instance_filters"]


def check_instance_filters(
    session: Session, definition_id: str | None, state: str | None, tag: str | None
) -> None:
    """Refuse a `--definition`, `--state` or `--tag` naming what no definition has (the state
    in the latest version of one, or of `--definition`'s when given; the tag in any version).

    Raises:
        NotFound: no such definition, with the near miss.
        PayloadError: no such state or tag, with the near miss.
    """
    _check_definition(session, definition_id)
    session.engine.check_state_and_tag(definition_id=definition_id, state=state, tag=tag)


def _check_definition(session: Session, definition_id: str | None) -> None:
    if definition_id is None:
        return
    ids = sorted({record.id for record in session.engine.definitions()})
    if definition_id in ids:
        return
    close = difflib.get_close_matches(definition_id, ids, n=1)
    fix = f"did you mean {close[0]!r}?" if close else "filter by one of those"
    there = f"the definitions are: {', '.join(ids)}" if ids else "it has none"
    raise NotFound(
        f"--definition {definition_id!r}: the store has no such definition ({there}); {fix}"
    )

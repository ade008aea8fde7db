"""`start_many`: the starts of many callers decided in one go and committed in ONE transaction.

The starts' counterpart of `send_many` (`batch_sending.py`): each request is decided as
`start` decides it (its checks, its definition version, the input schema, the initial
transition) and all their writes are committed with one `Store.commit_transitions` (the
store takes a start's write as any other: an insert of the instance row that fails if the
id is taken), one transaction and one flush to disk for all. An engine opened without
group commit (`group_commit=False`) commits each start in a transaction of its own, as its
`start` does.

Every promise of `start` holds for each request, and each gets its own outcome:

- its checks (the ids, the input's size and JSON, the version asked for), its definition
  (`NotFound`), the input schema (`PayloadInvalid`) and a refusal of the initial
  transition (`TransitionFailed`) are its own, nothing of it written;
- a write the database refuses (the id is taken: `InstanceExists`) is left out of the
  transaction by the store and the others commit;
- a start pinned to a definition version another process has since replaced by a newer
  one (`DefinitionMoved`) is made again on the newer one in the next round, as `start`
  does, up to five times;
- an error of the database itself (unreachable, the commit refused) fails every request
  of the transaction, none of whose rows were committed;
- two requests for one instance id are decided one after the other, in the order given:
  the second is committed in a transaction after the first's, so that it gets
  `InstanceExists` if the first started the instance, as if they were sequential.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from statewright.chart import Snapshot
from statewright.engine.deciding import DEFAULT_TENANT
from statewright.engine.heads import Head
from statewright.engine.sending import START_ROUNDS, Sending
from statewright.engine.views import Instance
from statewright.errors import DefinitionMoved, InternalError
from statewright.store.commit import check_write
from statewright.store.records import TransitionWrite

__all__ = ["BatchStarting", "StartRequest"]


@dataclass(frozen=True, slots=True)
class StartRequest:
    """One start of `Engine.start_many`: the arguments of `Engine.start`."""

    definition_id: str
    input: object = None
    instance_id: str | None = None
    tenant: str = DEFAULT_TENANT
    actor: str | None = None
    version: int | None = None


class _Checked:
    """A checked request: its index, its instance id (made if none was given), the start
    event's text, and the attempts made on a definition version since replaced."""

    __slots__ = ("attempt", "index", "instance_id", "text")

    def __init__(self, index: int, instance_id: str, text: str) -> None:
        self.index = index
        self.instance_id = instance_id
        self.text = text
        self.attempt = 0


class BatchStarting(Sending):
    """`start_many`."""

    def start_many(self, requests: Sequence[StartRequest]) -> list[Instance | BaseException]:
        """Start every request (as `start`), the starts committed together; per request, in
        order, the instance started or the exception `start` would have raised for it.

        Nothing is raised: each request's outcome is its own (see the module's notes).
        """
        outcomes: list[Instance | BaseException | None] = [None] * len(requests)
        waiting: list[_Checked] = []
        for index, request in enumerate(requests):
            try:
                instance_id, text = self._checked_start(
                    request.definition_id,
                    request.input,
                    request.instance_id,
                    request.tenant,
                    request.actor,
                    request.version,
                )
            except Exception as error:
                outcomes[index] = error
                continue
            waiting.append(_Checked(index, instance_id, text))
        while waiting:  # one request per instance per round, in the order given
            this_round: list[_Checked] = []
            later: list[_Checked] = []
            seen: set[tuple[str, str]] = set()
            for checked in waiting:
                key = (requests[checked.index].tenant, checked.instance_id)
                (later if key in seen else this_round).append(checked)
                seen.add(key)
            again = self._start_round(requests, this_round, outcomes)
            waiting = sorted([*again, *later], key=lambda checked: checked.index)
        return [
            outcome if outcome is not None else _lost(index)
            for index, outcome in enumerate(outcomes)
        ]

    def _start_round(
        self,
        requests: Sequence[StartRequest],
        checked: list[_Checked],
        outcomes: list[Instance | BaseException | None],
    ) -> list[_Checked]:
        """Decide and commit starts of distinct instances; those to make again on a newer
        definition version."""
        decided: list[tuple[_Checked, TransitionWrite, Snapshot | None, Instance]] = []
        for one in checked:
            request = requests[one.index]
            try:
                definition = self._start_definition(
                    request.definition_id, request.version, one.attempt
                )
                write, parsed, instance = self._start_write(
                    definition,
                    request.tenant,
                    one.instance_id,
                    one.text,
                    request.actor,
                    latest=request.version is None,
                )
                check_write(write)
            except Exception as error:
                outcomes[one.index] = error
                continue
            decided.append((one, write, parsed, instance))
        if not decided:
            return []
        results, _ = self._commit_together([write for _, write, _, _ in decided])
        again: list[_Checked] = []
        for (one, write, parsed, instance), result in zip(decided, results, strict=True):
            if result is None:
                self._heads.put(Head.after(write), parsed)
                outcomes[one.index] = instance
            elif isinstance(result, DefinitionMoved) and one.attempt + 1 < START_ROUNDS:
                one.attempt += 1
                again.append(one)
            else:
                outcomes[one.index] = result
        return again


def _lost(index: int) -> BaseException:
    """An outcome never set: a bug (every path above sets one)."""
    return InternalError(f"start_many left request {index} unanswered; please report this bug")

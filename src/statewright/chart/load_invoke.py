"""Loading, pass 2 continued: `invoke` (steps) and `after` (delayed transitions)."""

from __future__ import annotations

from collections.abc import Mapping

from statewright.chart.actions import implementation_error
from statewright.chart.delays import compile_delay, delay_key
from statewright.chart.faults import Faults, join_path, kind_of
from statewright.chart.load_wiring import WiringPass
from statewright.chart.nodes import InvokeDef, Op, StateNode, Transition
from statewright.chart.run import Run
from statewright.chart.schema import (
    INVOKE_KEYS,
    check_extension,
    check_keys,
)
from statewright.chart.values import compile_value

__all__ = ["InvokeAfterPass"]


class InvokeAfterPass(WiringPass):
    """Compiles invocations and delayed transitions into transitions and entry/exit ops."""

    def _wire_invoke(
        self, node: StateNode, config: Mapping[str, object], out: dict[str, list[Transition]]
    ) -> None:
        raw = config.get("invoke")
        if raw is None:
            return
        items = raw if isinstance(raw, list) else [raw]
        invokes = []
        seen: dict[object, str] = {}
        for index, item in enumerate(items):
            path = (
                join_path(join_path(node.path, "invoke"), index)
                if isinstance(raw, list)
                else join_path(node.path, "invoke")
            )
            if not isinstance(item, Mapping):
                src_name = item if isinstance(item, str) and item else "chargeCard"
                self.faults.add(
                    path,
                    f"an invoke must be an object, not {kind_of(item)}",
                    f'write "invoke": {{"src": "{src_name}", "onDone": "paid"}}',
                )
                continue
            check_keys(item, INVOKE_KEYS, path, self.faults, what="invoke")
            check_extension(item, path, self.faults, allowed=("retry",))
            src = item.get("src")
            if not isinstance(src, str) or not src:
                self.faults.add(
                    join_path(path, "src"),
                    'an invoke needs "src": the name of a provided actor',
                    'write "src": "chargeCard" and provide it',
                )
                src = ""
            elif src not in self.impls.actors:
                self.faults.add_missing(join_path(path, "src"), "actors", src, self.impls.actors)
            invoke_id = item.get("id")
            if invoke_id is not None and (not isinstance(invoke_id, str) or not invoke_id):
                self.faults.add(
                    join_path(path, "id"),
                    "an invoke id must be a non-empty string",
                    'write "id": "charge", or remove it for a generated id',
                )
                invoke_id = None
            if invoke_id in seen:
                self.faults.add(
                    join_path(path, "id"),
                    f'duplicate invoke id "{invoke_id}" (also {seen[invoke_id]})',
                    "give each invoke of a state its "
                    "own id: the id names its done and error events",
                )
            if not isinstance(invoke_id, str):
                invoke_id = f"{index}.{node.id}"
            seen.setdefault(invoke_id, path)
            invoke = InvokeDef(id=invoke_id, src=src, state=node, path=path)
            if "input" in item:
                invoke.input = compile_value(
                    item["input"],
                    path=join_path(path, "input"),
                    faults=self.faults,
                    scope="transition",
                )
            invoke.retry = _retry_policy(item, path, self.faults)
            for key, prefix in (
                ("onDone", "xstate.done.actor."),
                ("onError", "xstate.error.actor."),
            ):
                if key in item:
                    event = prefix + invoke_id
                    out[event] = self._transitions(node, item[key], event, join_path(path, key))
            if src:
                invokes.append(invoke)
        node.invoke = tuple(invokes)

    def _wire_after(
        self,
        node: StateNode,
        config: Mapping[str, object],
        out: dict[str, list[Transition]],
        entry: list[Op],
        exit_: list[Op],
    ) -> None:
        after = config.get("after")
        if after is None:
            return
        path = join_path(node.path, "after")
        if not isinstance(after, Mapping):
            self.faults.add(
                path,
                '"after" must map delays to transitions',
                'write "after": {"48h": "escalated"}',
            )
            return
        delays = []
        for raw_key, raw in after.items():
            key = delay_key(str(raw_key))
            key_path = join_path(path, str(raw_key))
            if not str(raw_key).strip():
                self.faults.add(
                    key_path,
                    'an empty "after" key is not a delay',
                    'write milliseconds ("1000"), a duration ("48h") or a delay name',
                )
                self._transitions(node, raw, None, key_path)
                continue
            delay = compile_delay(str(raw_key), path=key_path, faults=self.faults, impls=self.impls)
            event = f"xstate.after.{key}.{node.id}"
            if isinstance(raw, list) and any(isinstance(item, str) for item in raw):
                _refuse_target_strings(raw, key_path, self.faults)
                raw = [item for item in raw if not isinstance(item, str)]
            out.setdefault(event, []).extend(self._transitions(node, raw, event, key_path))
            entry.append(_schedule_after(event, delay, str(raw_key), node.id))
            exit_.append(_cancel_after(event))
            delays.append(key)
        node.after_delays = tuple(delays)


def _refuse_target_strings(raw: list[object], path: str, faults: Faults) -> None:
    """A target string inside a list under `after`: XState reads it as a transition without a
    target (`getDelayedTransitions` spreads the string), surely not what was meant."""
    for index, item in enumerate(raw):
        if isinstance(item, str):
            faults.add(
                join_path(path, index),
                f"a target string in a list of delayed transitions does nothing in XState "
                f"(it is read as a transition without a target), so {item!r} would not be "
                "entered",
                f'write {{"target": "{item}"}}, or the string alone instead of the list',
            )


def _schedule_after(event: str, delay: object, label: str, where: str) -> Op:
    from statewright.chart.effects import ScheduleTimer

    assert callable(delay)

    def schedule(run: Run) -> None:
        try:
            milliseconds = delay(run.context, run.event)
        except Exception as error:
            raise implementation_error("delay", label, where, run.event, error) from error
        run.schedule_timer(ScheduleTimer(id=event, delay_ms=milliseconds, event={"type": event}))

    return schedule


def _cancel_after(event: str) -> Op:
    return lambda run: run.cancel_timer(event)


def _retry_policy(
    item: Mapping[str, object], path: str, faults: Faults
) -> Mapping[str, object] | None:
    from statewright.chart.schema import check_retry

    extension = item.get("statewright")
    if not isinstance(extension, Mapping) or "retry" not in extension:
        return None
    return check_retry(
        extension["retry"], join_path(join_path(path, "statewright"), "retry"), faults
    )

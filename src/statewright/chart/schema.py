"""The keys a definition may use, and checks for the statewright extension object.

XState ignores keys it does not know; statewright reports them, because a misspelt key
(`"intial"`, `"guards"`, `"target "`) silently changes what a machine does. Keys from XState
v4 that v5 renamed get the new name as their fix. statewright's own options live under one
namespaced key, `"statewright"`, so a plain XState config stays valid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from statewright.chart.durations import MAX_DELAY_MS, parse_duration_ms
from statewright.chart.faults import Faults, did_you_mean, join_path

__all__ = [
    "INVOKE_KEYS",
    "MACHINE_ONLY_KEYS",
    "STATE_KEYS",
    "TRANSITION_KEYS",
    "YAML_BOOLEAN",
    "check_extension",
    "check_keys",
    "check_retry",
]

STATE_KEYS = frozenset(
    {
        "id",
        "type",
        "initial",
        "states",
        "history",
        "target",
        "on",
        "always",
        "after",
        "entry",
        "exit",
        "invoke",
        "onDone",
        "output",
        "tags",
        "meta",
        "description",
        "statewright",
    }
)
#: `types` and `schemas` are type information only, in XState too: accepted and ignored.
#: `options` holds `maxIterations`, the bound of the eventless loop (see `Machine`).
MACHINE_ONLY_KEYS = frozenset({"context", "version", "types", "schemas", "options"})
TRANSITION_KEYS = frozenset(
    {
        "target",
        "guard",
        "actions",
        "reenter",
        "description",
        "meta",
        "statewright",
    }
)
INVOKE_KEYS = frozenset({"src", "id", "input", "onDone", "onError", "meta", "statewright"})

#: Keys of XState v4 (or of other tools) and what to write instead in XState v5.
_RENAMED = {
    "cond": '"cond" is XState v4; write "guard"',
    "internal": '"internal" is XState v4; v5 transitions are internal by default, write '
    '"reenter": true for an external one',
    "entryActions": 'write "entry"',
    "exitActions": 'write "exit"',
    "activities": '"activities" were removed in XState v5; use "invoke"',
    "onEntry": '"onEntry" is XState v4; write "entry"',
    "onExit": '"onExit" is XState v4; write "exit"',
    "data": '"data" is XState v4; write "output"',
    "parallel": '"parallel" is XState v4; write "type": "parallel"',
    "key": '"key" is XState v4; write "id"',
    "strict": '"strict" was removed in XState v5; remove it',
    "delimiter": '"delimiter" was removed in XState v5; state paths always use "."',
    "schema": "remove it (types live in TypeScript, not in the config); to check event "
    'fields at run time, declare JSON Schemas in "statewright": {"events": {"TYPE": {...}}}',
    "predictableActionArguments": "remove it (XState v4 only)",
    "preserveActionOrder": "remove it (XState v4 only)",
    "in": '"in" is XState v4; write XState v5\'s state guard: '
    '"guard": {"type": "xstate.stateIn", "params": {"state": "#m.a"}}',
    "onSnapshot": "statewright steps report only done and error; remove onSnapshot",
    "systemId": "remove it; statewright steps have no system id",
    "autoForward": '"autoForward" was removed in XState v5; remove it',
}
_IMPLEMENTATIONS = (
    "implementations are passed in Python, not written in the definition: "
    "Machine.from_config(config, {kind}={{...}}) or machine.provide({kind}={{...}})"
)
YAML_BOOLEAN = (
    'a YAML key such as on, off, yes or no was read as a boolean; quote it ("on":), or load '
    "the file with Machine.load, which reads YAML booleans only as true/false"
)
#: Renames that depend on the object the key is in (`what` of `check_keys`).
_RENAMED_IN: dict[str, dict[str, str]] = {
    "state": {
        "guards": _IMPLEMENTATIONS.format(kind="guards"),
        "actors": _IMPLEMENTATIONS.format(kind="actors"),
        "delays": _IMPLEMENTATIONS.format(kind="delays"),
        "services": '"services" is XState v4 (v5 calls them actors); '
        + _IMPLEMENTATIONS.format(kind="actors"),
        "actions": 'a state has no "actions": run them on "entry" or "exit", or in a '
        'transition: "on": {"EVENT": {"actions": [...]}}',
        "cond": '"cond" belongs in a transition (and is XState v4): write '
        '"on": {"EVENT": {"target": ..., "guard": ...}}',
        "context": '"context" belongs on the machine itself; move it to the top level',
        "version": '"version" belongs on the machine itself; move it to the top level',
        "options": '"options" belongs on the machine itself; move it to the top level',
        "types": '"types" belongs on the machine itself (XState reads it only for '
        "TypeScript); move it to the top level or remove it",
        "schemas": '"schemas" belongs on the machine itself (XState reads it only for '
        "TypeScript); move it to the top level or remove it",
        "route": "statewright does not support routes (XState's xstate.route event); to reach "
        "this state from anywhere, write a transition on the machine, which every state "
        'inherits: "on": {"GO": "#<this state\'s id>"} (with the route\'s guard as its "guard")',
    },
    "invoke": {
        "data": '"data" is XState v4; write "input"',
        "target": 'an invoke has no "target"; write "onDone": {"target": ...}',
    },
    "transition": {
        "event": 'the event is the key under "on"; remove "event"',
        "guards": 'write "guard" with one guard; combine several with {"and": [...]}',
    },
}


def check_keys(
    config: Mapping[str, object],
    allowed: frozenset[str],
    path: str,
    faults: Faults,
    *,
    what: str,
    label: str = "",
) -> None:
    """Record a fault for every key of `config` not in `allowed`.

    `what` picks the fixes for keys misplaced in that kind of object; `label` names the object
    in the message when `what` does not (the root state is the machine).
    """
    for key in config:
        if key in allowed:
            continue
        key_text = str(key)
        fix = (
            (YAML_BOOLEAN if isinstance(key, bool) else "")
            or _RENAMED_IN.get(what, {}).get(key_text)
            or _RENAMED.get(key_text)
            or did_you_mean(key_text, allowed)
        )
        faults.add(
            join_path(path, key_text),
            f"unknown {label or what} key {key_text!r}",
            fix or f"allowed keys: {', '.join(sorted(allowed))}",
        )


def check_extension(
    config: Mapping[str, object], path: str, faults: Faults, *, allowed: tuple[str, ...]
) -> None:
    """Check the keys of the namespaced `"statewright": {...}` object, if any."""
    extension = config.get("statewright")
    if extension is None:
        return
    at = join_path(path, "statewright")
    if not isinstance(extension, Mapping):
        faults.add(
            at,
            f'"statewright" must be an object, not {type(extension).__name__}',
            'write "statewright": {...} with statewright\'s options, or remove it',
        )
        return
    for key in extension:
        if key not in allowed:
            hint = did_you_mean(str(key), allowed)
            options = (
                f"the options here are {', '.join(allowed)}"
                if allowed
                else ("statewright has no options here; remove it")
            )
            faults.add(
                join_path(at, str(key)),
                f"unknown statewright option {key!r}",
                hint or options,
            )
    roles = extension.get("roles")
    if roles is not None and not (
        isinstance(roles, list) and roles and all(isinstance(r, str) for r in roles)
    ):
        faults.add(
            join_path(at, "roles"),
            "roles must be a non-empty list of role names",
            'write "roles": ["approver"]',
        )


_RETRY_KEYS = (
    "attempts",
    "backoff",
    "delay",
    "maxDelay",
    "multiplier",
    "jitter",
    "timeout",
    "nonRetryable",
)
_RETRY_FIX = (
    'write "retry": {"attempts": 3, "backoff": "exponential", "delay": "1s", '
    '"maxDelay": "1m", "timeout": "30s", "nonRetryable": ["ValueError"]}'
)


def check_retry(raw: object, path: str, faults: Faults) -> Mapping[str, object] | None:
    """Validate a step's retry policy and return it with durations in milliseconds."""
    if not isinstance(raw, Mapping):
        faults.add(path, "a retry policy must be an object", _RETRY_FIX)
        return None
    policy: dict[str, object] = {}
    for key, value in raw.items():
        at = join_path(path, str(key))
        if key not in _RETRY_KEYS:
            faults.add(
                at,
                f"unknown retry option {key!r}",
                did_you_mean(str(key), _RETRY_KEYS) or _RETRY_FIX,
            )
        elif key == "attempts" and not (type(value) is int and value >= 1):
            faults.add(at, "attempts must be a whole number >= 1", "write 3")
        elif key == "backoff" and value not in ("exponential", "fixed"):
            faults.add(at, f"unknown backoff {value!r}", 'write "exponential" or "fixed"')
        elif key in ("delay", "maxDelay", "timeout"):
            milliseconds = _duration(value)
            if milliseconds is None:
                faults.add(at, f"{key} must be a duration", 'write "30s", "5m" or 1500 (ms)')
            elif milliseconds > MAX_DELAY_MS:
                faults.add(at, f"{key} cannot be longer than 1000 years", 'write "30s", "5m", "7d"')
            elif key == "timeout" and milliseconds == 0:
                faults.add(at, "timeout must be more than 0 ms", "remove it for no limit")
            policy[key] = milliseconds
            continue
        elif key == "multiplier" and (
            isinstance(value, bool) or not (isinstance(value, (int, float)) and value >= 1)
        ):
            faults.add(at, "multiplier must be a number >= 1", "write 2")
        elif key == "jitter" and not isinstance(value, bool):
            faults.add(at, "jitter must be true or false", "write true")
        elif key == "nonRetryable" and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            faults.add(
                at,
                "nonRetryable must be a list of error type names",
                'write ["ValueError", "PaymentDeclined"]',
            )
        policy[str(key)] = value
    return policy


def _duration(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return round(value) if 0 <= value < math.inf else None
    if isinstance(value, str):
        return parse_duration_ms(value)
    return None

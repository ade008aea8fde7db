"""The outbox's retry policy given to a worker (`Worker(outbox_retry=...)`, a setup file's
`OUTBOX_RETRY`): error types that are dead-lettered at once, fewer attempts, and the
refusal of a policy written wrong. Time is virtual."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import ConfigError
from statewright.runtime import OUTBOX_DEFAULT, RetryPolicy, Worker
from statewright.runtime.outbox import OutboxMessage
from statewright.testing import VirtualClock

NOTIFYING = {
    "id": "notifying",
    "initial": "idle",
    "states": {
        "idle": {
            "on": {
                "PING": {
                    "actions": [
                        {
                            "type": "emit",
                            "params": {"event": {"type": "ping", "to": {"$expr": "event.to"}}},
                        }
                    ]
                }
            }
        }
    },
}


class AddressRejected(Exception):
    pass


def reject_unknown(message: OutboxMessage) -> None:
    if message.event["to"] == "nobody":
        raise AddressRejected(f"no mailbox {message.event['to']!r}")
    raise ConnectionError("mail server down")


@pytest.fixture
def engine(store_url: str, clock: VirtualClock) -> Iterator[Engine]:
    with Engine.open(store_url, clock=clock) as opened:
        opened.register(Machine.from_config(NOTIFYING))
        opened.start("notifying", instance_id="n-1")
        yield opened


def states(engine: Engine) -> list[tuple[str, str, int]]:
    return [
        (str(m.status), str(m.last_error).split(":")[0], m.attempts)
        for m in engine.store.outbox("default", "n-1")
    ]


def test_a_non_retryable_error_type_is_dead_lettered_at_once(engine: Engine) -> None:
    worker = Worker(engine, outbox_retry={"nonRetryable": ["AddressRejected"]})
    worker.listen("ping", reject_unknown)
    engine.send("n-1", {"type": "PING", "to": "nobody"})
    engine.send("n-1", {"type": "PING", "to": "ann"})

    worker.run_once()

    assert states(engine) == [("dead", "AddressRejected", 1), ("pending", "ConnectionError", 1)]
    (dead,) = engine.store.dead_letters()
    assert dead.last_error == "AddressRejected: no mailbox 'nobody'"


def test_without_a_policy_the_same_error_is_retried(engine: Engine) -> None:
    worker = Worker(engine)
    worker.listen("ping", reject_unknown)
    engine.send("n-1", {"type": "PING", "to": "nobody"})

    worker.run_once()

    assert states(engine) == [("pending", "AddressRejected", 1)]
    assert worker.outbox.policy == OUTBOX_DEFAULT


def test_keys_left_out_keep_the_outbox_defaults_not_a_steps(
    engine: Engine, clock: VirtualClock
) -> None:
    worker = Worker(engine, outbox_retry={"attempts": 2})
    assert worker.outbox.policy == RetryPolicy(
        attempts=2,
        delay_ms=OUTBOX_DEFAULT.delay_ms,
        max_delay_ms=OUTBOX_DEFAULT.max_delay_ms,
        timeout_ms=OUTBOX_DEFAULT.timeout_ms,
    )
    worker.listen("ping", reject_unknown)
    engine.send("n-1", {"type": "PING", "to": "ann"})
    worker.run_once()
    clock.advance("1h")
    worker.run_once()
    assert states(engine) == [("dead", "ConnectionError", 2)]


def test_a_retry_policy_object_is_taken_as_it_is(engine: Engine) -> None:
    policy = RetryPolicy(attempts=1)
    assert Worker(engine, outbox_retry=policy).outbox.policy is policy


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"atempts": 2}, "outbox_retry.atempts: unknown retry option 'atempts'; did you mean"),
        ({"delay": "soon"}, 'outbox_retry.delay: delay must be a duration; write "30s"'),
        ({"attempts": 0}, "outbox_retry.attempts: attempts must be a whole number >= 1"),
        ([2], "outbox_retry: the outbox's retry policy must be a dict"),
    ],
)
def test_a_policy_written_wrong_is_refused_naming_the_key(
    engine: Engine, given: object, named: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        Worker(engine, outbox_retry=given)  # type: ignore[arg-type]
    assert named in str(refused.value)

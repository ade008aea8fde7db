"""The demo's traffic: a client of the HTTP API, with an operator token, that starts orders,
approvals and intake reviews and acts on them as the people deciding them would.

Each `step` does one thing: start an instance, or look at one whose think time is over (`GET
.../accepted`) and send it one of the events it accepts now and the token may send, by weight
(mostly APPROVE; sometimes REJECT, RETRY, CANCEL). Some instances fail on purpose: orders over
5000 are declined by the payment step (retried, then manual review in `payment_failed`), and
documents named `unreadable-...` fail every processing attempt (`failed`), and the first
notification of each message to the applicant `margaret` is refused and dead-lettered (the
demo's listener, `machines.py`). Some instances
waiting for a person are left waiting (parked), so the console always has work to show.

The first six starts are scripted: one instance of each kind, decided within seconds, the
failing ones parked in manual review, so that a short run already shows every status.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import httpx

__all__ = ["Traffic", "TrafficStopped"]

#: Event type -> weight when several are accepted (0: never sent; ESCALATE has a guard the
#: demo's reviews never pass).
_WEIGHTS = {
    "SUBMIT": 10.0, "APPROVE": 7.0, "RESERVED": 5.0, "SHIPPED": 5.0,
    "REJECT": 1.0, "RETRY": 2.0, "CANCEL": 2.0, "ESCALATE": 0.0,
}  # fmt: skip
#: The scripted instances' choice: the first of these that is accepted.
_SCRIPTED = ("SUBMIT", "APPROVE", "RESERVED", "SHIPPED")
#: States where a person must repair a failure.
MANUAL_REVIEW = frozenset({"payment_failed", "failed"})
_PEOPLE = ("ann", "bob", "chen", "dara", "eve")
_DOCUMENTS = ("lease", "invoice", "contract", "permit", "claim")
_APPLICANTS = ("ada", "grace", "linus", "margaret", "edsger", "barbara")
#: (definition, a fixed input choice) for the scripted opening.
_OPENING = (
    ("order", 250), ("order", 2500), ("order", 7200),
    ("approval", "unreadable-scan"), ("approval", "lease"), ("intake", "margaret"),
)  # fmt: skip
_NOUNS = {"order": "orders", "approval": "approvals", "intake": "intake reviews"}


class TrafficStopped(Exception):
    """The API refuses the traffic's token (revoked, or another tenant): it cannot go on."""


@dataclass(slots=True)
class _Tracked:
    id: str
    definition: str
    due: float
    scripted: bool
    seen: object = None
    sent: int = 0


class Traffic:
    """Starts instances and sends them events through the API, one action per `step`.

    Args:
        client: an `httpx.Client` whose base URL is the server's and whose headers carry
            the operator token.
        rng: the random choices (amounts, think times, events).
        clock: seconds, monotonic.
        open_target: how many instances to keep in play (not parked, not finished).
        park_limit: the most instances left waiting for a person.
        think_s: (least, most) seconds before acting on an instance in a new state.
    """

    def __init__(
        self,
        client: httpx.Client,
        *,
        rng: random.Random,
        clock: Callable[[], float] = time.monotonic,
        open_target: int = 12,
        park_limit: int = 20,
        think_s: tuple[float, float] = (3.0, 15.0),
    ) -> None:
        self._client, self._rng, self._clock = client, rng, clock
        self._open_target, self._park_limit, self._think_s = open_target, park_limit, think_s
        self._opening = list(_OPENING)
        self._open: dict[str, _Tracked] = {}
        self._parked: dict[str, object] = {}  # id -> the state it was left in
        self._started: Counter[str] = Counter()
        self._number = 1000
        self.events_sent = 0
        self.refused = 0
        self.finished = 0

    def step(self) -> None:
        """Start an instance, or act on the one waiting longest for its turn.

        Raises:
            TrafficStopped: the token is refused (401, 403).
            httpx.TransportError: the server cannot be reached.
        """
        now = self._clock()
        due = [t for t in self._open.values() if t.due <= now]
        if self._opening or (
            len(self._open) < self._open_target and (not due or self._rng.random() < 0.3)
        ):
            self._start()
        elif due:
            self._look(min(due, key=lambda t: t.due))

    def summary(self) -> str:
        """One line: what was started, sent, finished, and what waits in manual review."""
        started = ", ".join(f"{n} {_NOUNS[d]}" for d, n in sorted(self._started.items()))
        review = sum(1 for v in self._seen_values() if _in_review(v))
        return (
            f"started {self._started.total()} ({started or 'none yet'}); "
            f"{self.events_sent} events sent; {self.finished} finished; "
            f"{review} in manual review; {len(self._parked)} left waiting for a person"
        )

    def _seen_values(self) -> list[object]:
        return [t.seen for t in self._open.values()] + list(self._parked.values())

    def _start(self) -> None:
        if self._opening:
            definition, choice = self._opening.pop(0)
            scripted = True
        else:
            definition = self._rng.choices(("order", "approval", "intake"), (5, 3, 2))[0]
            choice, scripted = None, False
        self._number += 1
        instance_id, body = _new_instance(definition, choice, self._number, self._rng)
        answer = self._client.post(f"/api/v1/instances/{instance_id}", json=body)
        if answer.status_code == 201:
            self._started[definition] += 1
            self._open[instance_id] = _Tracked(
                instance_id, definition, self._clock() + 0.5, scripted
            )
        else:
            self._check(answer)

    def _look(self, tracked: _Tracked) -> None:
        answer = self._client.get(f"/api/v1/instances/{tracked.id}/accepted")
        if answer.status_code != 200:
            self._check(answer)
            del self._open[tracked.id]
            return
        found = answer.json()
        now = self._clock()
        if found["status"] != "active":
            self.finished += 1
            del self._open[tracked.id]
            return
        sendable = [e["type"] for e in found["events"] if e["allowed"] and not e["wildcard"]]
        if not sendable:  # a step is running: look again soon
            tracked.due = now + self._rng.uniform(1.0, 2.0)
            return
        if found["value"] != tracked.seen:  # a new state: think first, or leave it waiting
            tracked.seen = found["value"]
            if self._should_park(tracked):
                self._parked[tracked.id] = tracked.seen
                del self._open[tracked.id]
                return
            low, high = (1.0, 2.0) if tracked.scripted else self._think_s
            tracked.due = now + self._rng.uniform(low, high)
            return
        self._send(tracked, self._choose(tracked, sendable))

    def _should_park(self, tracked: _Tracked) -> bool:
        if tracked.scripted:
            return _in_review(tracked.seen)
        if len(self._parked) >= self._park_limit:
            return False
        return tracked.sent >= 6 or self._rng.random() < 0.15

    def _choose(self, tracked: _Tracked, sendable: list[str]) -> str:
        if tracked.scripted:
            return next((t for t in _SCRIPTED if t in sendable), sendable[0])
        weights = [_WEIGHTS.get(t, 1.0) for t in sendable]
        if not any(weights):
            return sendable[0]
        return self._rng.choices(sendable, weights)[0]

    def _send(self, tracked: _Tracked, event_type: str) -> None:
        event: dict[str, object] = {"type": event_type}
        if event_type == "APPROVE":
            event["by"] = self._rng.choice(_PEOPLE)
        elif event_type == "SHIPPED":
            event["tracking"] = f"TRK-{tracked.id}"
        answer = self._client.post(f"/api/v1/instances/{tracked.id}/events", json=event)
        tracked.due = self._clock() + 0.7
        if answer.status_code == 200:
            self.events_sent += 1
            tracked.sent += 1
        elif answer.status_code in (409, 412):  # it moved meanwhile (a step ended)
            self.refused += 1
        else:
            self._check(answer)

    def _check(self, answer: httpx.Response) -> None:
        """Stop on a refused token; any other unexpected answer is passed over."""
        if answer.status_code in (401, 403):
            detail = _detail(answer)
            raise TrafficStopped(
                f"the API refused the traffic's token ({answer.status_code}: {detail})"
            )
        if answer.status_code == 429:
            self._pause(2.0)

    def _pause(self, seconds: float) -> None:
        later = self._clock() + seconds
        for tracked in self._open.values():
            tracked.due = max(tracked.due, later)


def _new_instance(
    definition: str, choice: object, number: int, rng: random.Random
) -> tuple[str, dict[str, object]]:
    """The id and the start request's body of a new instance of `definition`."""
    if definition == "order":
        instance_id = f"A-{number}"
        if not isinstance(choice, int):
            kind = rng.choices(("small", "large", "declined"), (4, 4, 2))[0]
            low, high = {"small": (20, 990), "large": (1000, 5000), "declined": (5001, 9000)}[kind]
            choice = rng.randrange(low, high)
        order = {"orderId": instance_id, "amount": choice}
        return instance_id, {"definition": "order", "input": order}
    if definition == "approval":
        if choice is None:
            name = rng.choice(_DOCUMENTS)
            choice = f"unreadable-{name}" if rng.random() < 0.15 else name
        document = f"{choice}-{number}.pdf"
        return f"D-{number}", {"definition": "approval", "input": {"document": document}}
    applicant = choice if isinstance(choice, str) else rng.choice(_APPLICANTS)
    return f"R-{number}", {"definition": "intake", "input": {"applicant": applicant}}


def _in_review(value: object) -> bool:
    """Whether a state value (a string, or an object for parallel states) is manual review."""
    return isinstance(value, str) and value in MANUAL_REVIEW


def _detail(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)

"""Tenant and role isolation, probed as a caller holding a valid token of one tenant ("acme")
would probe another ("other"): every route of the OpenAPI document, walked from the app (so
that a route added later is walked too), with the other tenant's instance ids, message ids,
cursors, idempotency keys and stream positions, by every role.

For each probe naming one of the other tenant's objects, the same probe naming an object that
exists nowhere must get the same answer (status, problem type, body with the id swapped back):
no existence oracle. No answer may carry the other tenant's data (every one of its ids and
payloads holds `MARK`). Each role gets 403 exactly where docs/api.md's table says its role is
too low. After the probes the other tenant's instances, history, steps, timers, outbox and
dead letters are as they were; and the reads (dry runs' counts too) answer the same after the
other tenant has moved on.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from api_kit import Api, make_api, uvicorn_on_a_free_port
from shop_kit import HOUR, SHOP
from sse_kit import sse

from statewright import Machine
from statewright.api import ApiSettings, StreamSettings
from statewright.store.records import WorkerRecord

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ATTACKER, VICTIM = "acme", "other"
#: In every id and payload of the victim's: an answer to the attacker holding it leaks.
MARK = "VICTIM"
#: In the attacker's own payloads: an answer to its token without payloads holding it leaks.
OWN = "MINE-PAYLOAD"
#: The victim's instances (shop ones, and an order with a note), by what they wait on.
KINDS = ("dead", "retry", "out", "pend", "pay")
#: Ids that exist in no tenant: the control of each probe naming a victim's object.
NOBODY = "zz-nobody"
#: The attacker's tokens, by role (api_kit's names).
ROLES = ("viewer", "no-payloads", "operator", "approver", "admin")
RANK = {"none": -1, "cookie": -1, "viewer": 0, "operator": 1, "admin": 2}
TOKEN_RANK = {"viewer": 0, "no-payloads": 0, "operator": 1, "approver": 1, "admin": 2}
#: Routes served beside the OpenAPI document's (it does not list itself and its page).
UNLISTED = (("GET", "/api/openapi.json"), ("GET", "/api/docs"))

#: Request bodies per route: a route with a body that is not here fails the walk (add it).
#: "{instance}" and "{message}" become a victim's ids (or the control's).
BODIES: dict[tuple[str, str], list[Any]] = {
    ("POST", "/api/v1/session"): [],  # takes a token: the login tests below
    ("POST", "/api/v1/instances"): [{"definition": "shop", "input": {"amount": 1}}],
    ("POST", "/api/v1/instances/{instance_id}"): [{"definition": "shop", "input": {"amount": 1}}],
    ("POST", "/api/v1/instances/{instance_id}/events"): [
        {"type": "APPROVE"},
        {"type": "NOTE", "text": "probe"},
        {"type": "VOID"},
    ],
    ("POST", "/api/v1/instances/{instance_id}/cancel"): [{}, {"reason": "probe"}],
    ("POST", "/api/v1/instances/{instance_id}/steps/{invoke_id}/retry"): [None],
    ("POST", "/api/v1/dead-letters/redrive"): [
        {"message_id": "{message}"},
        {"message_id": "{message}", "dry_run": True},
        {"instance_id": "{instance}", "dry_run": True},
        {"instance_id": "{instance}"},
        {"all": True, "dry_run": True},
        {"event_type": "shop.shipped", "dry_run": True},
    ],
    ("POST", "/api/v1/bulk/send"): [
        {"all": True, "dry_run": True, "event": {"type": "APPROVE"}},
        {"definition": "shop", "dry_run": True, "event": {"type": "APPROVE"}},
        {"tag": "needs-human", "dry_run": True, "event": {"type": "APPROVE"}},
    ],
    ("POST", "/api/v1/bulk/cancel"): [
        {"all": True, "dry_run": True},
        {"runtime_status": "waiting", "dry_run": True},
    ],
    ("POST", "/api/v1/bulk/retry"): [
        {"all": True, "dry_run": True},
        {"runtime_status": "retrying", "dry_run": True},
    ],
}
#: Bodies that act for real: walked after the reads, once the other checks are done.
ACTING: dict[tuple[str, str], list[Any]] = {
    ("POST", "/api/v1/bulk/send"): [{"all": True, "event": {"type": "REJECT"}}],
    ("POST", "/api/v1/bulk/cancel"): [{"all": True}],
    ("POST", "/api/v1/bulk/retry"): [{"all": True}],
    ("POST", "/api/v1/dead-letters/redrive"): [{"all": True}],
}


def victim_id(kind: str) -> str:
    return f"o-{MARK}-{kind}"


# --- the two tenants' worlds ---------------------------------------------------------------


@dataclass
class World:
    """What the victim holds that the attacker may try to name."""

    instances: list[str]
    messages: list[str]
    cursors: list[str] = field(default_factory=list)
    stream_cursor: int = 0
    keys: tuple[str, ...] = (f"{MARK}-key", f"{MARK}-start-key")
    session: dict[str, str] = field(default_factory=dict)


def _call(api: Api, method: str, path: str, token: str, body: Any = None, **headers: str) -> Any:
    sent = {**api.auth(token), **headers}
    if body is None:
        return api.client.request(method, path, headers=sent)
    return api.client.request(method, path, json=body, headers=sent)


def _start(api: Api, instance_id: str, token: str, definition: str = "shop") -> None:
    body: dict[str, Any] = {"definition": definition, "input": {"amount": 5}}
    body["input"]["note"] = f"{MARK}-input" if instance_id.startswith("o-") else OWN
    answer = _call(api, "POST", f"/api/v1/instances/{instance_id}", token, body)
    assert answer.status_code == 201, answer.text


def _approve(api: Api, instance_id: str, token: str) -> None:
    answer = _call(
        api, "POST", f"/api/v1/instances/{instance_id}/events", token, {"type": "APPROVE"}
    )
    assert answer.status_code == 200, answer.text


def _claim_one(api: Api, instance_id: str) -> Any:
    (run,) = api.engine.store.claim_steps(api.engine.clock.now(), 60_000, 10)
    assert run.instance_id == instance_id
    return run


def build(api: Api) -> World:
    """Both tenants with an instance of each kind (steps, a retrying step, a timer, an outbox
    message pending and one dead), an order with a note, one id used by both, a keyed send,
    a schedule; the victim's ids and payloads hold MARK."""
    api.engine.register(Machine.from_config(SHOP))
    owners = {"a": "admin", f"o-{MARK}": "other:admin"}
    messages: dict[str, str] = {}
    for prefix, token in owners.items():  # one step in flight at a time: claim the one
        _start(api, f"{prefix}-dead", token)
        _approve(api, f"{prefix}-dead", token)
        api.engine.finish_step(_claim_one(api, f"{prefix}-dead"), output={"ok": True})
        (message,) = api.engine.store.due_outbox(api.engine.clock.now() + 1, 10)
        api.engine.store.outbox_failed(
            message, error=f"{prefix}: boom", next_attempt_at=0, dead=True
        )
        messages[prefix] = message.message_id
    for prefix, token in owners.items():
        _start(api, f"{prefix}-retry", token)
        _approve(api, f"{prefix}-retry", token)
        run = _claim_one(api, f"{prefix}-retry")
        now = api.engine.clock.now()
        api.engine.store.retry_step(run, next_attempt_at=now + HOUR, error=f"{prefix}: slow")
    for prefix, token in owners.items():
        _start(api, f"{prefix}-out", token)
        _approve(api, f"{prefix}-out", token)
        api.engine.finish_step(_claim_one(api, f"{prefix}-out"), output={"ok": True})
    for prefix, token in owners.items():
        _start(api, f"{prefix}-pend", token)
        _start(api, f"{prefix}-pay", token)
        _approve(api, f"{prefix}-pay", token)
        _start(api, f"{prefix}-ord", token, "order")
        text = f"{MARK}-note" if prefix != "a" else OWN
        noted = _call(
            api,
            "POST",
            f"/api/v1/instances/{prefix}-ord/events",
            token,
            {"type": "NOTE", "text": text},
        )
        assert noted.status_code == 200, noted.text
    _start(api, "both", "admin", "order")
    _start(api, "both", "other:admin", "order")
    world = World(
        instances=[victim_id(kind) for kind in (*KINDS, "ord")],
        messages=[messages[f"o-{MARK}"]],
    )
    keyed = _call(
        api,
        "POST",
        f"/api/v1/instances/{victim_id('ord')}/events",
        "other:operator",
        {"type": "NOTE", "text": f"{MARK}-keyed"},
        **{"Idempotency-Key": world.keys[0]},
    )
    assert keyed.status_code == 200, keyed.text
    started = _call(
        api,
        "POST",
        "/api/v1/instances",
        "other:operator",
        {"definition": "order", "input": {"amount": 1}},
        **{"Idempotency-Key": world.keys[1]},
    )
    assert started.status_code == 201, started.text
    heartbeat(api)
    # The victim's cursors of every list that pages (one item a page), and its stream's.
    for path in (
        "/api/v1/instances",
        "/api/v1/steps",
        "/api/v1/timers",
        "/api/v1/outbox",
        "/api/v1/dead-letters",
        f"/api/v1/instances/{victim_id('ord')}/steps",
    ):
        page = _call(api, "GET", f"{path}?limit=1", "other:viewer").json()
        if page.get("next_cursor"):
            world.cursors.append(page["next_cursor"])
    assert len(world.cursors) >= 2
    world.stream_cursor = min(e.cursor for e in api.engine.audit_since(0, tenant=VICTIM))
    login = api.client.post("/api/v1/session", json={"token": api.tokens["other:operator"]})
    assert login.status_code == 201
    world.session = {"cookie": login.cookies["sw_session"], "csrf": login.json()["csrf"]}
    api.client.cookies.clear()
    return world


def heartbeat(api: Api) -> None:
    """A live worker running a schedule of each tenant (heard of now)."""
    now = api.engine.clock.now()
    schedules = [
        {
            "name": f"{MARK}-nightly",
            "cron": "@daily",
            "action": {"start": "shop", "tenant": VICTIM},
        },
        {
            "name": "acme-nightly",
            "cron": "@daily",
            "action": {"start": "shop", "input": {"note": OWN}, "tenant": ATTACKER},
        },
    ]
    api.engine.store.register_worker(
        WorkerRecord(
            id="w-1",
            host="box",
            pid=1,
            steps="[]",
            listeners="[]",
            started_at=now,
            heartbeat_at=now,
            schedules=json.dumps(schedules),
        )
    )


def fingerprint(api: Api, tenant: str) -> dict[str, Any]:
    """Everything a tenant holds, as the engine reads it."""
    engine = api.engine
    instances = list(engine.list(tenant=tenant, limit=1000))
    return {
        "instances": [(i.id, i.version, i.status, i.runtime_status, i.value) for i in instances],
        "history": {i.id: len(engine.history(i.id, tenant=tenant)) for i in instances},
        "steps": [
            (s.instance_id, s.status, s.attempts, s.next_attempt_at)
            for s in engine.steps(tenant=tenant, limit=1000)
        ],
        "timers": [(t.instance_id, t.timer_id, t.due_at) for t in engine.timers(tenant=tenant)],
        "outbox": [(m.message_id, m.attempts) for m in engine.pending_outbox(tenant=tenant)],
        "dead": [(d.message_id, d.attempts) for d in engine.dead_letters(tenant=tenant)],
    }


# --- the routes and what docs/api.md says of them -------------------------------------------


def documented_roles() -> dict[tuple[str, str], str]:
    """docs/api.md's endpoint table: the role each method and path needs."""
    found: dict[tuple[str, str], str] = {}
    for line in DOCS.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        role = cells[1]
        if role not in RANK:
            continue
        for route in re.findall(r"`([A-Z]+ /[^`]*)`", cells[0]):
            method, path = route.split(" ", 1)
            path = path.split("?")[0].replace("{id}/", "{id}/")
            found[(method, path)] = role
    return found


def _doc_path(path: str) -> str:
    """The route's path as docs/api.md writes it ({id} for any id)."""
    return re.sub(r"\{(instance_id|definition_id)\}", "{id}", path)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    params: tuple[tuple[str, str], ...]  # (name, in)
    streams: bool


def routes(api: Api) -> list[Route]:
    """Every route of the app's OpenAPI document, and those it does not list."""
    document = api.client.get("/api/openapi.json", headers=api.auth("viewer")).json()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            params = tuple((p["name"], p["in"]) for p in operation.get("parameters", []))
            content = operation.get("responses", {}).get("200", {}).get("content", {})
            found.append(Route(method.upper(), path, params, "text/event-stream" in content))
    found += [Route(method, path, (), False) for method, path in UNLISTED]
    return found


# --- probes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One request; `named` the victim's values it carries (none: it names nothing of it)."""

    route: Route
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    named: tuple[str, ...] = ()

    def url(self) -> str:
        if not self.query:
            return self.path
        return self.path + "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in self.query)

    def control(self) -> Probe:
        """The same probe naming objects that exist nowhere instead."""
        assert self.named
        others = tuple(_control_of(value) for value in self.named)

        def swap(text: str) -> str:
            for value, other in zip(self.named, others, strict=True):
                text = text.replace(value, other)
            return text

        return replace(
            self,
            path=swap(self.path),
            query=tuple((k, swap(v)) for k, v in self.query),
            headers=tuple((k, swap(v)) for k, v in self.headers),
            body=json.loads(swap(json.dumps(self.body))),
            named=others,
        )


def _nobody(value: str) -> str:
    """An id of nobody's as long as `value` (so that answers echoing it are as long), none
    a part of another."""
    return ("zz" + hashlib.sha256(value.encode()).hexdigest() * 2)[: len(value)]


def _control_of(value: str) -> str:
    """An object like `value` (as long, but for a cursor) that exists nowhere: an id, a
    message id, a cursor, a key."""
    if value.startswith(f"{VICTIM}/"):  # a message id: tenant/instance/version/n
        return value.replace(victim_id("dead"), _nobody(victim_id("dead")))
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        data = None
    if isinstance(data, dict) and "k" in data:  # a cursor: the same list, a key of nobody
        data["k"] = [NOBODY for _ in data["k"]]
        text = json.dumps(data, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    if value.isdigit():
        return value
    return _nobody(value)


def probes(route: Route, world: World, *, acting: bool = False) -> Iterator[Probe]:
    """The probes of a route: each victim object its path, query, headers or body can name,
    and plain ones. The starts under a chosen id are left to the end (they make ids)."""
    key = (route.method, route.path)
    path_params = [name for name, where in route.params if where == "path"]
    query = {name for name, where in route.params if where == "query"}
    headers = {name for name, where in route.params if where == "header"}
    if key in BODIES or key in ACTING:
        bodies = (ACTING if acting else BODIES).get(key, [])
    else:
        assert route.method in ("GET", "DELETE"), f"{key}: add its bodies to BODIES"
        bodies = [] if acting else [None]
    paths: list[tuple[str, tuple[str, ...]]] = []
    if "instance_id" in path_params:
        for victim in world.instances:
            paths.append((route.path.replace("{instance_id}", victim), (victim,)))
    else:
        paths.append((route.path, ()))
    for path, named in paths:
        path = path.replace("{invoke_id}", "charge").replace("{definition_id}", "shop")
        for body in bodies:
            text = json.dumps(body)
            if "{message}" in text:
                for message in world.messages:
                    filled = json.loads(text.replace("{message}", message))
                    yield Probe(route, path, body=filled, named=(message,))
                continue
            if "{instance}" in text:
                for victim in world.instances:
                    filled = json.loads(text.replace("{instance}", victim))
                    yield Probe(route, path, body=filled, named=(victim,))
                continue
            yield Probe(route, path, body=body, named=named)
            if "Idempotency-Key" in headers:
                for reused in world.keys:
                    yield Probe(
                        route,
                        path,
                        body=body,
                        headers=(("Idempotency-Key", reused),),
                        named=(*named, reused),
                    )
            if "If-Match" in headers:
                for tag in ('"1"', '"99"', "*"):
                    yield Probe(route, path, body=body, headers=(("If-Match", tag),), named=named)
            if "Last-Event-ID" in headers and not named:
                yield Probe(route, path, headers=(("Last-Event-ID", str(world.stream_cursor)),))
            for name in sorted(query):
                values: list[tuple[str, tuple[str, ...]]] = []
                if name in ("instance_id", "after"):
                    values = [(v, (v,)) for v in world.instances]
                elif name == "cursor":
                    values = [(c, (c,)) for c in world.cursors]
                elif name == "id_prefix":
                    values = [(f"o-{MARK}", (f"o-{MARK}",))]
                elif name == "event_type":
                    values = [("shop.shipped", ())]
                for value, value_named in values:
                    yield Probe(
                        route, path, query=((name, value),), body=body, named=(*named, *value_named)
                    )


#: The headers two answers alike carry alike (their lengths, when what they echo is as long).
COMPARED = ("content-length", "content-type", "etag", "location", "allow", "www-authenticate")


@dataclass
class Answer:
    status: int
    type: str | None
    text: str
    headers: tuple[tuple[str, str], ...] = ()


def ask(api: Api, probe: Probe, token: str, *, head: bool = False) -> Answer:
    streams = probe.route.streams and probe.route.method == "GET"
    method = "HEAD" if head or streams else probe.route.method
    answer = _call(api, method, probe.url(), token, probe.body, **dict(probe.headers))
    text = answer.text
    kind = None
    if answer.content and answer.headers["content-type"].startswith("application/problem+json"):
        kind = answer.json()["type"]
    kept = tuple((name, answer.headers[name]) for name in COMPARED if name in answer.headers)
    return Answer(answer.status_code, kind, text, kept)


#: A generated instance id (a start under none): two starts never get the same one.
_GENERATED = re.compile(r"[0-9a-f]{32}")


def _scrubbed(text: str, named: tuple[str, ...]) -> str:
    """The answer with the values the probe sent (echoed in a problem's detail) taken out."""
    for value in named:
        for form in (
            repr(value),
            repr(value)[:60],
            value,
            quote(value, safe=""),
            json.dumps(value)[1:-1],
        ):
            text = text.replace(form, "<named>")
    return _VOLATILE.sub(r'"\1": _', _GENERATED.sub("<generated>", text))


#: What two answers made a moment apart may differ in: times, and global positions.
_VOLATILE = re.compile(r'"(as_of|alive|[a-z_]*_at)":\s*[^,}\]]+')


def walk(
    api: Api, world: World, all_routes: list[Route], *, acting: bool = False, reads: bool = False
) -> dict[str, str]:
    """Every probe by every role of the attacker (only the reads and dry runs with `reads`):
    the checks of the module docstring. The answers (by probe and role), for comparing."""
    needed = documented_roles()
    seen: dict[str, str] = {}
    failures: list[str] = []
    for route in all_routes:
        doc_key = (route.method, _doc_path(route.path))
        assert doc_key in needed, f"{doc_key} is not in docs/api.md's endpoint table"
        starts = route.method == "POST" and route.path.endswith("/instances/{instance_id}")
        if starts or (route.path == "/api/v1/session" and route.method != "GET"):
            continue  # the starts under chosen ids: test_starts_...; the login: below
        head_too = route.method == "GET" and not route.streams and not reads
        for probe, head in (
            (probe, head)
            for probe in probes(route, world, acting=acting)
            for head in ((False, True) if head_too else (False,))
        ):
            if reads and route.method != "GET" and not (probe.body or {}).get("dry_run"):
                continue
            for role in ROLES:
                got = ask(api, probe, role, head=head)
                method = "HEAD" if head else probe.route.method
                label = f"{role} {method} {probe.url()} {json.dumps(probe.body)}"
                low = TOKEN_RANK[role] < RANK[needed[doc_key]]
                if low and got.type != "urn:statewright:problem:role-too-low":
                    failures.append(f"{label}: {got.status} where the role is too low")
                if not low and got.type == "urn:statewright:problem:role-too-low":
                    failures.append(f"{label}: role-too-low where docs/api.md allows it")
                scrubbed = _scrubbed(got.text, probe.named)
                if MARK in scrubbed:
                    failures.append(f"{label}: the other tenant's data: {scrubbed[:300]}")
                if role == "no-payloads" and OWN in got.text:
                    failures.append(f"{label}: a payload to a token without: {got.text[:300]}")
                if probe.named and not acting:
                    failures += _unlike_nobodys(api, probe, role, head, got, label)
                if route.path != "/api/metrics":
                    seen[label] = scrubbed
    assert not failures, "\n".join(failures[:40]) + f"\n({len(failures)} in all)"
    return seen


def _unlike_nobodys(
    api: Api, probe: Probe, role: str, head: bool, got: Answer, label: str
) -> list[str]:
    """How the answer to `probe` differs from the answer to its control (the same naming
    objects of nobody's): an existence oracle."""
    control = probe.control()
    other = ask(api, control, role, head=head)
    scrubbed, same = _scrubbed(got.text, probe.named), _scrubbed(other.text, control.named)
    found = []
    as_long = all(len(a) == len(b) for a, b in zip(probe.named, control.named, strict=True))
    mine = {k: _scrubbed(v, probe.named) for k, v in got.headers}
    theirs = {k: _scrubbed(v, control.named) for k, v in other.headers}
    if as_long and mine != theirs:
        found.append(f"{label}: headers {got.headers} but {other.headers}")
    if (got.status, got.type, scrubbed) != (other.status, other.type, same):
        at = next((n for n, (x, y) in enumerate(zip(scrubbed, same, strict=False)) if x != y), 0)
        found.append(
            f"{label}: {got.status} ...{scrubbed[max(0, at - 80) : at + 120]} but for an "
            f"object of nobody {other.status} ...{same[max(0, at - 80) : at + 120]}"
        )
    return found


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture
def roomy(store_url: str) -> Iterator[Api]:
    yield from make_api(store_url, ApiSettings(max_body_bytes=65536, rate=0, auth_failures=0))


def test_every_route_keeps_to_the_callers_tenant_and_role(roomy: Api) -> None:
    # Through a real server with serve's protocol (its short ways for sends and starts
    # included), on one kept connection: thousands of probes, a millisecond or so each.
    with (
        uvicorn_on_a_free_port(roomy.client.app) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
    ):
        _walk_every_route(replace(roomy, client=client))


def _walk_every_route(api: Api) -> None:
    world = build(api)
    all_routes = routes(api)
    assert len(all_routes) >= 35
    victim_before = fingerprint(api, VICTIM)
    walk(api, world, all_routes)
    assert fingerprint(api, VICTIM) == victim_before
    heartbeat(api)  # the walks take seconds: the worker stays live through each
    first = walk(api, world, all_routes, reads=True)
    shown = [label.split(" ")[2] for label, text in first.items() if OWN in text]
    assert {"/api/v1/instances", "/api/v1/schedules"} <= set(shown)
    # The victim moves on: new instances, events, a cancel, its dead letter redriven, new
    # ids under the attacker's own ones' names. The attacker's reads answer the same.
    attacker_before = fingerprint(api, ATTACKER)
    for n in range(3):
        _start(api, f"o-{MARK}-new{n}", "other:admin")
    _start(api, "a-pend-2", "other:admin")
    _call(api, "POST", f"/api/v1/instances/{victim_id('pend')}/cancel", "other:admin", {})
    _call(
        api,
        "POST",
        f"/api/v1/instances/{victim_id('ord')}/events",
        "other:admin",
        {"type": "NOTE", "text": f"{MARK}-later"},
    )
    redriven = _call(api, "POST", "/api/v1/dead-letters/redrive", "other:operator", {"all": True})
    assert redriven.json()["redriven"] == 1
    world.messages = []  # redriven: no longer a dead letter of the victim's
    world.instances = [victim_id(kind) for kind in (*KINDS, "ord")]
    heartbeat(api)
    second = walk(api, world, all_routes, reads=True)
    both = first.keys() & second.keys()
    assert len(both) > 300
    moved = {
        label: (first[label], second[label]) for label in both if second[label] != first[label]
    }
    assert not moved, json.dumps(dict(list(moved.items())[:5]), indent=1)
    assert fingerprint(api, ATTACKER) == attacker_before
    # The bulk operations and redrives that act, by every role: on the attacker's own only.
    victim_before = fingerprint(api, VICTIM)
    walk(api, world, all_routes, acting=True)
    assert fingerprint(api, VICTIM) == victim_before


@pytest.fixture
def streaming(store_url: str) -> Iterator[Api]:
    stream = StreamSettings(heartbeat_s=0.2, poll_s=0.05)
    yield from make_api(store_url, ApiSettings(rate=0, auth_failures=0, stream=stream))


def _events_until_quiet(stream: Any) -> list[Any]:
    found = []
    while (event := stream.next(skip_heartbeats=False)) is not None:
        found.append(event)
    return found


def test_the_live_stream_keeps_to_the_tenant_whatever_its_filters_and_last_event_id(
    streaming: Api,
) -> None:
    api = streaming
    world = build(api)
    _call(
        api,
        "POST",
        "/api/v1/instances/both/events",
        "other:admin",
        {"type": "NOTE", "text": f"{MARK}-both"},
    )
    mine = [e.cursor for e in api.engine.audit_since(0, tenant=ATTACKER)]
    with uvicorn_on_a_free_port(api.client.app) as port:
        base = f"http://127.0.0.1:{port}"
        auth = api.auth("viewer")
        # Replayed from before the other tenant's first transition: only the caller's own.
        since = {"Last-Event-ID": str(world.stream_cursor - 1), **auth}
        for path in (
            "/api/v1/stream",
            "/api/v1/stream?definition=order",
            "/api/v1/instances/both/stream",
        ):
            with sse(base, path, since) as stream:
                got = _events_until_quiet(stream)
            assert got and all(MARK not in json.dumps(e.data) for e in got), path
            assert {int(e.id) for e in got} <= set(mine), path
        assert [e.data["version"] for e in got] == [1]  # the caller's "both", not the other's
        # Live: the other tenant's transitions never reach the caller's streams.
        with (
            sse(base, "/api/v1/stream", auth) as tenant,
            sse(base, "/api/v1/instances/both/stream", auth) as one,
        ):
            tenant.quiet()
            one.quiet()
            for instance_id, token in (
                (victim_id("ord"), "other:admin"),
                ("both", "other:admin"),
                ("both", "admin"),
            ):
                sent = httpx.post(
                    f"{base}/api/v1/instances/{instance_id}/events",
                    json={"type": "NOTE", "text": f"{MARK}-live" if token != "admin" else "mine"},
                    headers=api.auth(token),
                )
                assert sent.status_code == 200, sent.text
            (event,) = tenant.events(1)
            assert (event.data["instance_id"], event.data["event"]["text"]) == ("both", "mine")
            (event,) = one.events(1)
            assert event.data["event"]["text"] == "mine"
            tenant.quiet()
            one.quiet()
        # Another tenant's instance is no stream: 404 as for an instance of nobody.
        refusals = []
        for instance_id in (victim_id("ord"), _nobody(victim_id("ord"))):
            refused = httpx.get(f"{base}/api/v1/instances/{instance_id}/stream", headers=auth)
            kept = (refused.headers["content-length"], refused.headers["content-type"])
            refusals.append((refused.status_code, refused.text.replace(instance_id, "<id>"), kept))
        assert refusals[0] == refusals[1] and refusals[0][0] == 404, refusals


def test_sends_to_one_id_in_two_tenants_at_once_each_reach_their_own(streaming: Api) -> None:
    api = streaming
    _start(api, "both", "admin", "order")
    _start(api, "both", "other:admin", "order")
    with uvicorn_on_a_free_port(api.client.app) as port:
        base = f"http://127.0.0.1:{port}"

        def send(n: int) -> int:
            token = "operator" if n % 2 else "other:operator"
            with httpx.Client(base_url=base) as client:
                answer = client.post(
                    "/api/v1/instances/both/events",
                    headers=api.auth(token),
                    json={"type": "NOTE", "text": f"{token}-{n}"},
                )
            assert answer.status_code == 200, answer.text
            assert answer.json()["event"]["text"] == f"{token}-{n}"  # its own answer
            return n

        with ThreadPoolExecutor(8) as pool:
            assert sorted(pool.map(send, range(40))) == list(range(40))
    for tenant, token in ((ATTACKER, "operator"), (VICTIM, "other:operator")):
        texts = [e.event.get("text") for e in api.engine.history("both", tenant=tenant)[1:]]
        assert len(texts) == 20 and all(str(t).startswith(f"{token}-") for t in texts), texts


def test_starts_under_the_other_tenants_ids_make_the_callers_own(roomy: Api) -> None:
    api = roomy
    world = build(api)
    victim_before = fingerprint(api, VICTIM)
    for victim in world.instances:
        for instance_id in (victim, f"{NOBODY}-{victim}"):
            body = {"definition": "shop", "input": {"amount": 1}}
            viewer = _call(api, "POST", f"/api/v1/instances/{instance_id}", "viewer", body)
            assert viewer.json()["type"] == "urn:statewright:problem:role-too-low"
            made = _call(api, "POST", f"/api/v1/instances/{instance_id}", "operator", body)
            assert made.status_code == 201 and made.json()["tenant"] == ATTACKER, made.text
            again = _call(api, "POST", f"/api/v1/instances/{instance_id}", "admin", body)
            assert again.json()["type"] == "urn:statewright:problem:instance-exists"
    assert fingerprint(api, VICTIM) == victim_before


def test_a_console_session_acts_only_as_its_own_token(roomy: Api) -> None:
    api = roomy
    world = build(api)
    victim_before = fingerprint(api, VICTIM)
    client = api.client
    login = client.post("/api/v1/session", json={"token": api.tokens["operator"]})
    mine = {"cookie": login.cookies["sw_session"], "csrf": login.json()["csrf"]}
    client.cookies.clear()
    cancel = f"/api/v1/instances/{victim_id('pend')}/cancel"
    # My cookie with the other session's CSRF secret, and the other way round: refused.
    for cookie, csrf in (
        (mine["cookie"], world.session["csrf"]),
        (world.session["cookie"], mine["csrf"]),
    ):
        client.cookies.set("sw_session", cookie)
        for method, path in (("POST", cancel), ("DELETE", "/api/v1/session")):
            refused = client.request(method, path, json={}, headers={"X-CSRF-Token": csrf})
            assert refused.json()["type"] == "urn:statewright:problem:csrf-failed", refused.text
        client.cookies.clear()
    # The other tenant's cookie beside my bearer token: the request is my token's.
    client.cookies.set("sw_session", world.session["cookie"])
    who = client.get("/api/v1/session", headers=api.auth("viewer"))
    assert (who.json()["tenant"], who.json()["csrf"]) == (ATTACKER, None)
    acted = client.post(cancel, json={}, headers=api.auth("operator"))
    assert acted.status_code == 404
    client.cookies.clear()
    # My session, on every page of the console and its API: nothing of the other tenant.
    client.cookies.set("sw_session", mine["cookie"])
    for page in (
        "/",
        f"/instances/{victim_id('ord')}",
        "/definitions",
        "/definitions/shop",
        "/queues",
        "/login",
        "/logout",
    ):
        shown = client.get(page)
        assert shown.status_code == 200
        assert MARK not in shown.text.replace(victim_id("ord"), ""), page
    listed = client.get("/api/v1/instances").json()["items"]
    assert listed and all(i["tenant"] == ATTACKER for i in listed)
    gone = client.post(cancel, json={}, headers={"X-CSRF-Token": mine["csrf"]})
    assert gone.status_code == 404
    client.cookies.clear()
    assert fingerprint(api, VICTIM) == victim_before
    client.cookies.set("sw_session", world.session["cookie"])
    assert client.get("/api/v1/session").json()["tenant"] == VICTIM  # still logged in


def test_metrics_name_no_tenant_instance_or_payload(roomy: Api) -> None:
    """docs/api.md: the metrics are the server's and every tenant's work together, route
    templates and totals only; a token of any tenant may read them (the documented choice:
    keep /api/metrics from tenants at the proxy where their activity must stay hidden)."""
    api = roomy
    build(api)
    for path in (
        f"/api/v1/instances/{victim_id('ord')}",
        "/api/v1/instances/nope/history",
        f"/api/{MARK}-no-route",
    ):
        api.client.get(path, headers=api.auth("other:viewer"))
    text = api.client.get("/api/metrics", headers=api.auth("viewer")).text
    assert "statewright_instances" in text and "statewright_outbox_dead" in text
    labels = set(re.findall(r'(\w+)="', text))
    assert labels <= {"method", "route", "status", "runtime_status", "le", "quantile"}, labels
    assert MARK not in text and "o-" not in text and VICTIM not in text
    routes_named = set(re.findall(r'route="([^"]*)"', text))
    assert all(r == "unmatched" or "{" in r or r.count("/") <= 4 for r in routes_named)
    assert not any("VICTIM" in r or "nope" in r for r in routes_named), routes_named

"""Credentials that are not valid, sent to a real server: each client address may send
`auth_failures` of them a minute, then 429 (problem+json, Retry-After) without the store
being read; a token that authenticated before keeps working from that address, and a
trusted reverse proxy's X-Forwarded-For names the address counted."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from api_kit import order_machine, uvicorn_on_a_free_port

from statewright.api import ApiSettings, create_app
from statewright.api import limits as limits_module
from statewright.api.limits import AuthFailures, client_key
from statewright.api.problems import Problem
from statewright.engine import Engine

FAILURES = 3
LIMITED = "urn:statewright:problem:authentication-rate-limited"
EVENT = {"type": "NOTE", "text": "hello"}


@dataclass
class Served:
    client: httpx.Client
    engine: Engine
    reads: list[str]  # the secrets looked up in the store, in order
    token: str  # an operator's
    other: str  # a viewer's, never sent before the test sends it


def _random() -> dict[str, str]:
    return {"Authorization": f"Bearer sw_{secrets.token_hex(6)}_{secrets.token_hex(32)}"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: object) -> Iterator[Served]:
    reads: list[str] = []
    real = Engine.authenticate

    def counted(self: Engine, secret: str) -> object:
        reads.append(secret)
        return real(self, secret)

    monkeypatch.setattr(Engine, "authenticate", counted)
    with Engine.open(f"sqlite:///{tmp_path / 'api.db'}") as engine:
        engine.register(order_machine())
        token = engine.create_token(tenant="acme", role="operator")[1]
        other = engine.create_token(tenant="acme", role="viewer")[1]
        engine.start("order", instance_id="A-1", input={"amount": 5}, tenant="acme")
        app = create_app(engine, ApiSettings(rate=0, auth_failures=FAILURES))
        with (
            uvicorn_on_a_free_port(app, **options) as port,
            httpx.Client(base_url=f"http://127.0.0.1:{port}") as client,
        ):
            reads.clear()
            yield Served(client, engine, reads, token, other)


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    yield from _served(tmp_path, monkeypatch)


def _read(s: Served, headers: dict[str, str]) -> httpx.Response:
    return s.client.get("/api/v1/instances", headers=headers)


def _send(s: Served, headers: dict[str, str]) -> httpx.Response:
    """A plain send: the way the server answers without FastAPI's layers."""
    return s.client.post("/api/v1/instances/A-1/events", json=EVENT, headers=headers)


def _assert_limited(response: httpx.Response, address: str) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(response.headers["retry-after"]) <= 60 // FAILURES
    problem = response.json()
    assert problem["type"] == LIMITED
    assert f"({address})" in problem["detail"] and "statewright tokens list" in problem["detail"]


def test_guessing_costs_the_store_n_reads_then_429_without_reading(served: Served) -> None:
    assert _read(served, _bearer(served.token)).status_code == 200  # seen before the attack
    failed = [_read(served, _random()), _send(served, _random()), _read(served, _random())]
    assert [r.status_code for r in failed] == [401] * FAILURES
    assert len(served.reads) == 1 + FAILURES

    for _ in range(10):
        _assert_limited(_read(served, _random()), "127.0.0.1")
        _assert_limited(_send(served, _random()), "127.0.0.1")
    login = served.client.post("/api/v1/session", json={"token": _random()["Authorization"][7:]})
    _assert_limited(login, "127.0.0.1")
    assert len(served.reads) == 1 + FAILURES  # nothing more was read

    # The token that authenticated before still works from the same address, both ways,
    # and is still read each time (a revocation counts at once).
    assert _read(served, _bearer(served.token)).status_code == 200
    assert _send(served, _bearer(served.token)).status_code == 200
    assert len(served.reads) == 3 + FAILURES
    # A valid token never seen before waits as a guess does.
    _assert_limited(_read(served, _bearer(served.other)), "127.0.0.1")

    served.engine.revoke_token(served.token)
    assert _read(served, _bearer(served.token)).status_code == 401  # read, and refused
    _assert_limited(_read(served, _bearer(served.token)), "127.0.0.1")  # no longer known


def test_a_bad_session_cookie_counts_as_a_failure(served: Served) -> None:
    assert _read(served, _bearer(served.token)).status_code == 200
    served.client.cookies.set("sw_session", "x" * 40)
    for _ in range(FAILURES):
        assert served.client.get("/api/v1/session").status_code == 401
    _assert_limited(served.client.get("/api/v1/session"), "127.0.0.1")
    served.client.cookies.clear()
    assert _read(served, _bearer(served.token)).status_code == 200  # seen before


def test_behind_a_trusted_proxy_each_forwarded_client_is_counted_apart(served: Served) -> None:
    # The server trusts the loopback proxy (uvicorn's default): X-Forwarded-For names the
    # client, right-most untrusted address first.
    attacker = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    for _ in range(FAILURES):
        assert _read(served, {**_random(), **attacker}).status_code == 401
    _assert_limited(_read(served, {**_random(), **attacker}), "203.0.113.7")
    neighbour = {"X-Forwarded-For": "203.0.113.8"}
    assert _read(served, {**_random(), **neighbour}).status_code == 401
    assert _read(served, _random()).status_code == 401  # the proxy's own address


def test_an_untrusted_peer_cannot_step_around_it_with_forwarded_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for served in _served(tmp_path, monkeypatch, forwarded_allow_ips="192.0.2.1"):
        for n in range(FAILURES):
            spoofed = {"X-Forwarded-For": f"203.0.113.{n}"}
            assert _read(served, {**_random(), **spoofed}).status_code == 401
        spoofed = {"X-Forwarded-For": "203.0.113.99"}
        _assert_limited(_read(served, {**_random(), **spoofed}), "127.0.0.1")


def test_openapi_lists_429_on_every_operation(served: Served) -> None:
    document = served.client.get("/api/openapi.json", headers=_bearer(served.token)).json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "security" in operation or path == "/api/v1/session":
                answer = operation["responses"].get("429")
                assert answer is not None, (method, path)
                assert "failed authentications" in answer["description"], (method, path)


def test_failures_come_back_at_the_rate_of_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(limits_module.time, "monotonic", lambda: now[0])
    failures = AuthFailures(3, window_s=60)
    for _ in range(3):
        failures.check("a", "guess")
        failures.failed("a", "guess")
    with pytest.raises(Problem) as refused:
        failures.check("a", "guess")
    assert refused.value.headers == {"Retry-After": "20"}
    failures.check("b", "guess")  # another address
    now[0] += 20
    failures.check("a", "guess")  # one more, 60 s / 3 later
    failures.failed("a", "guess")
    with pytest.raises(Problem):
        failures.check("a", "guess")


@pytest.mark.parametrize(
    ("client", "key"),
    [
        (("203.0.113.7", 5000), "203.0.113.7"),
        (("2001:db8:1:2:3:4:5:6", 5000), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:ffff::1", 5000), "2001:db8:1:2::/64"),  # the same /64
        (("::ffff:203.0.113.7", 5000), "203.0.113.7"),
        (None, "unknown"),
    ],
)
def test_the_client_key_is_the_address_an_ipv6_one_by_its_64(
    client: tuple[str, int] | None, key: str
) -> None:
    assert client_key(client) == key

"""API tokens (digest, constant-time check, revocation) and per-event roles checked by the
engine: a refused event writes nothing, an allowed one records its actor."""

from __future__ import annotations

import copy
import hashlib

import pytest
from tests_support import ORDER

from statewright import Machine
from statewright.engine import Engine
from statewright.errors import NotFound, NotPermitted, PayloadError


def guarded_order() -> Machine:
    config = copy.deepcopy(ORDER)
    config["id"] = "guarded"
    pending = config["states"]["pending"]["on"]  # type: ignore[index]
    pending["APPROVE"]["statewright"] = {"roles": ["approver"]}
    pending["REJECT"] = {"target": "rejected", "statewright": {"roles": ["operator"]}}
    return Machine.from_config(config, actors={"chargeCard": lambda input: {"ok": True}})


def test_a_token_is_shown_once_and_stored_as_a_digest(engine: Engine) -> None:
    token, secret = engine.create_token(tenant="acme", role="operator", name="ci")
    assert secret.startswith(f"sw_{token.prefix}_") and len(secret) == 3 + 12 + 1 + 43
    (stored,) = engine.store.list_tokens("acme")
    assert stored.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(stored)
    assert engine.authenticate(secret) == token
    assert token.roles == {"operator"} and token.actor == f"ci (token {token.prefix})"


def test_wrong_malformed_and_revoked_tokens_authenticate_nothing(engine: Engine) -> None:
    token, secret = engine.create_token(tenant="acme", role="admin")
    wrong = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert engine.authenticate(wrong) is None
    assert engine.authenticate("sw_000000000000_" + secret[-43:]) is None
    assert engine.authenticate("Bearer nonsense") is None
    revoked = engine.revoke_token(token.prefix)
    assert revoked.revoked_at is not None and not revoked.active
    assert engine.authenticate(secret) is None, "a revocation counts at once"
    assert engine.revoke_token(secret).revoked_at == revoked.revoked_at


def test_token_refusals_name_the_fix(engine: Engine) -> None:
    with pytest.raises(PayloadError, match="viewer, operator, admin"):
        engine.create_token(role="root")
    with pytest.raises(PayloadError, match="event role"):
        engine.create_token(event_roles=["no spaces"])
    with pytest.raises(NotFound, match="tokens list"):
        engine.revoke_token("0123456789ab")
    with pytest.raises(NotFound, match="12 hex digits"):
        engine.revoke_token("xyz")
    assert engine.tokens() == []


def test_tokens_are_listed_per_tenant(engine: Engine) -> None:
    a, _ = engine.create_token(tenant="acme", event_roles=["approver", "approver"])
    b, _ = engine.create_token(tenant="other", payloads=False)
    assert {t.prefix for t in engine.tokens()} == {a.prefix, b.prefix}
    assert engine.tokens(tenant="acme") == [a]
    assert a.event_roles == ("approver",) and not b.payloads


def test_an_event_whose_transition_names_other_roles_is_refused_and_writes_nothing(
    engine: Engine,
) -> None:
    engine.register(guarded_order())
    engine.start("guarded", input={"amount": 5}, instance_id="g1")
    with pytest.raises(NotPermitted, match="approver") as refused:
        engine.send("g1", {"type": "APPROVE", "by": "ann"}, roles={"operator"}, actor="ann")
    assert refused.value.required == ("approver",)
    assert engine.get("g1").version == 1 and len(engine.history("g1")) == 1
    entry = engine.send("g1", {"type": "APPROVE", "by": "ann"}, roles={"operator", "approver"})
    assert entry.to_value == "paying"


def test_admin_and_trusted_callers_pass_every_role_check(engine: Engine) -> None:
    engine.register(guarded_order())
    engine.start("guarded", input={"amount": 5}, instance_id="g1")
    engine.start("guarded", input={"amount": 5}, instance_id="g2")
    assert engine.send("g1", {"type": "APPROVE", "by": "x"}, roles={"admin"}).to_value == "paying"
    assert engine.send("g2", {"type": "APPROVE", "by": "x"}).to_value == "paying"


def test_a_transition_naming_a_token_role_admits_that_role(engine: Engine) -> None:
    engine.register(guarded_order())
    engine.start("guarded", input={"amount": 5}, instance_id="g1")
    with pytest.raises(NotPermitted):
        engine.send("g1", "REJECT", roles={"viewer"})
    entry = engine.send("g1", "REJECT", roles={"operator"}, actor="token abc")
    assert entry.to_value == "rejected" and engine.history("g1")[-1].actor == "token abc"


def test_unguarded_events_need_no_role(engine: Engine) -> None:
    engine.start("order", input={"amount": 5}, instance_id="o1")
    assert engine.send("o1", "REJECT", roles=set()).to_value == "rejected"

"""What the API tests share: the order definition, the app in-process over an engine on a
store (FastAPI's TestClient), tokens of each role in two tenants, and, for tests over real
sockets, a uvicorn server in a thread and its access lines."""

from __future__ import annotations

import copy
import io
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi.testclient import TestClient

from statewright import Machine
from statewright.api import ApiSettings, create_app
from statewright.api.access_log import ACCESS_FORMAT, AccessFormatter, AccessHandler
from statewright.api.http_protocol import Protocol
from statewright.engine import Engine

ORDER = {
    "id": "order",
    "initial": "pending",
    "context": {"amount": {"$expr": "input.amount"}, "approvedBy": None},
    "states": {
        "pending": {
            "on": {
                "APPROVE": {
                    "target": "approved",
                    "statewright": {"roles": ["approver"]},
                    "actions": [
                        {"type": "assign", "params": {"approvedBy": {"$expr": "event.by"}}}
                    ],
                },
                "REJECT": "rejected",
                "NOTE": {
                    "actions": [{"type": "assign", "params": {"note": {"$expr": "event.text"}}}]
                },
            },
        },
        "approved": {"on": {"SHIP": "shipped"}},
        "shipped": {"type": "final"},
        "rejected": {"type": "final"},
    },
}


#: A definition with typed events: a JSON Schema for PAY's fields and for the start input.
CLAIM = {
    "id": "claim",
    "initial": "review",
    "context": {"paid": 0},
    "statewright": {
        "input": {"type": "object", "required": ["customer"]},
        "events": {
            "PAY": {
                "type": "object",
                "properties": {
                    "amount": {"type": "integer", "minimum": 1},
                    "lines": {"type": "array", "items": {"$ref": "#/$defs/line"}},
                },
                "required": ["amount"],
                "$defs": {"line": {"type": "object", "required": ["sku"]}},
            }
        },
    },
    "states": {
        "review": {
            "on": {
                "PAY": {
                    "target": "paid",
                    "actions": [{"type": "assign", "params": {"paid": {"$expr": "event.amount"}}}],
                },
                "DROP": "paid",
            }
        },
        "paid": {"type": "final"},
    },
}


@dataclass
class Api:
    """The app in-process, its engine, and a token of each role per tenant."""

    client: TestClient
    engine: Engine
    tokens: dict[str, str]

    def auth(self, name: str) -> dict[str, str]:
        """The Authorization header of the token `name` (e.g. "operator", "other:admin")."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def order_machine(version: int = 1) -> Machine:
    config = copy.deepcopy(ORDER)
    if version > 1:
        config["states"]["approved"]["on"]["HOLD"] = "pending"  # type: ignore[index]
    return Machine.from_config(config)


def make_api(url: str, settings: ApiSettings | None = None) -> Iterator[Api]:
    with Engine.open(url) as engine:
        engine.register(order_machine())
        tokens: dict[str, str] = {}
        for role in ("viewer", "operator", "admin"):
            tokens[role] = engine.create_token(tenant="acme", role=role, name=role)[1]
            tokens[f"other:{role}"] = engine.create_token(tenant="other", role=role)[1]
        tokens["approver"] = engine.create_token(
            tenant="acme", role="operator", name="ann", event_roles=["approver"]
        )[1]
        tokens["no-payloads"] = engine.create_token(tenant="acme", role="viewer", payloads=False)[1]
        app = create_app(engine, settings or ApiSettings(max_body_bytes=4096, rate=0))
        with TestClient(app, raise_server_exceptions=True) as client:
            yield Api(client, engine, tokens)


@contextmanager
def uvicorn_on_a_free_port(app: Any, http: Any = Protocol, **options: Any) -> Iterator[int]:
    """`app` served by a real uvicorn server (in a thread, on a free loopback port, `http`
    its protocol: `serve`'s by default, more `uvicorn.Config` `options`) while the block
    runs; the port. The server is stopped, and checked stopped, afterwards."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=http, lifespan="off", log_config=None, **options
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
            time.sleep(0.01)
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(20)
    assert not thread.is_alive(), "the server did not stop"


@contextmanager
def access_lines() -> Iterator[io.StringIO]:
    """uvicorn's access lines, as `serve` formats them, kept while the block runs."""
    logger = logging.getLogger("uvicorn.access")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    kept = io.StringIO()
    handler = AccessHandler(kept)
    handler.setFormatter(AccessFormatter(ACCESS_FORMAT, use_colors=False))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield kept
    finally:
        logger.handlers[:], level, logger.propagate = saved
        logger.setLevel(level)

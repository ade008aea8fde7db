"""`Worker.listen` and `Worker.webhook` refuse configuration that could only fail at delivery
(10 attempts over ~85 minutes, then a dead letter): a listener that is not a function of one
message, a pattern that matches no event type, a webhook URL that is not http(s) with a host,
an empty HMAC secret. Each `ConfigError` names the pattern or URL and the fix."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from statewright import Engine, Worker
from statewright.chart.events import matches_descriptor
from statewright.errors import ConfigError
from statewright.runtime.outbox import OutboxMessage


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Worker]:
    with Engine.open(f"sqlite:///{tmp_path / 'app.db'}") as engine, Worker(engine) as opened:
        yield opened


def notify(message: OutboxMessage) -> None:
    pass


def no_arguments() -> None:
    pass


@pytest.mark.parametrize(
    ("listener", "said"),
    [
        ("notafunction", r"listener for 'order\.\*': 'notafunction' is not callable; give a"),
        (
            "https://example.com/x",
            r"is not callable; .*use worker\.webhook\(pattern, url, secret\)",
        ),
        (
            no_arguments,
            r"no_arguments\(\) cannot be called with one argument.*def no_arguments\(message\)",
        ),
        (None, r"None is not callable"),
    ],
)
def test_a_listener_that_cannot_take_a_message_is_refused(
    worker: Worker, listener: object, said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        worker.listen("order.*", listener)  # type: ignore[arg-type]
    assert worker.outbox.listeners == []


@pytest.mark.parametrize(
    ("pattern", "said"),
    [
        ("", r"listener pattern '' is empty and matches no event; give an event type"),
        ("   ", r"is empty"),
        (" order.*", r"has spaces around it .*write 'order\.\*'"),
        ("order*", r"'order\*' never matches: .*write \"order\.\*\" or \"\*\""),
        ("*.shipped", r"'\*\.shipped' never matches: .*write \"order\.\*\" or \"\*\""),
        ("order.*.created", r"never matches: .*write \"order\.\*\""),
        ("order.*.*", r"never matches: .*write \"order\.\*\""),
        ("**", r"never matches"),
        (None, r"must be a string"),
    ],
)
def test_a_pattern_that_matches_no_event_type_is_refused(
    worker: Worker, pattern: object, said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        worker.listen(pattern, notify)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=said):
        worker.webhook(pattern, "http://127.0.0.1:1/x", "s3cret")  # type: ignore[arg-type]
    assert worker.outbox.listeners == []


@pytest.mark.parametrize(
    ("pattern", "matched", "unmatched"),
    [
        ("order.shipped", ["order.shipped"], ["order", "order.shipped.late", "Order.shipped"]),
        ("order.*", ["order", "order.shipped", "order.shipped.late"], ["orders", "ord"]),
        ("order.shipped.*", ["order.shipped", "order.shipped.late"], ["order.shippedx"]),
        ("*", ["order", "anything.at.all"], []),
    ],
)
def test_the_patterns_taken_are_exact_types_prefixes_and_everything(
    worker: Worker, pattern: str, matched: list[str], unmatched: list[str]
) -> None:
    worker.listen(pattern, notify)
    assert all(matches_descriptor(pattern, t) for t in matched)
    assert not any(matches_descriptor(pattern, t) for t in unmatched)


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("not a url", r"webhook URL 'not a url': it has no scheme; .*http:// or https://"),
        ("ftp://127.0.0.1/x", r"webhook URL 'ftp://127\.0\.0\.1/x': its scheme is 'ftp'"),
        ("http:///x", r"webhook URL 'http:///x' names no host"),
        ("http://127.0.0.1:port/x", r"cannot be read"),
        ("127.0.0.1:8080/hook", r"http:// or https://"),
    ],
)
def test_a_webhook_url_no_delivery_could_use_is_refused(
    worker: Worker, url: str, said: str
) -> None:
    with pytest.raises(ConfigError, match=said):
        worker.webhook("order.*", url, "s3cret")
    assert worker.outbox.listeners == []


def test_a_refused_webhook_url_is_named_without_its_secrets(worker: Worker) -> None:
    with pytest.raises(ConfigError) as refused:
        worker.webhook("order.*", "gopher://user:pw@host/x?token=abc", "s3cret")
    assert "pw" not in str(refused.value) and "abc" not in str(refused.value)
    assert "gopher://host/x" in str(refused.value)


@pytest.mark.parametrize("secret", ["", "   ", b"bytes", None])
def test_a_webhook_without_a_secret_is_refused(worker: Worker, secret: object) -> None:
    with pytest.raises(
        ConfigError,
        match=r"webhook http://127\.0\.0\.1:1/x: the secret is .*"
        r"worthless.*secrets\.token_urlsafe",
    ):
        worker.webhook("order.*", "http://127.0.0.1:1/x", secret)  # type: ignore[arg-type]
    assert worker.outbox.listeners == []


def test_a_refused_webhook_leaves_no_connection_pool_behind(worker: Worker) -> None:
    before = set(threading.enumerate())
    with pytest.raises(ConfigError, match="not shorter than the outbox lease"):
        worker.webhook("order.*", "http://127.0.0.1:1/x", "s3cret", deadline_s=3600)
    assert worker.outbox.listeners == []
    assert set(threading.enumerate()) <= before


def test_good_configuration_is_taken(worker: Worker) -> None:
    worker.listen("order.*", notify)
    worker.listen("*", [].append)
    worker.webhook("order.shipped", "https://hooks.example.com/statewright", "s3cret")
    worker.webhook("order.*", "HTTP://127.0.0.1:8080/hook", "s3cret")
    assert len(worker.outbox.listeners) == 4

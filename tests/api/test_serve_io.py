"""`serve`'s cheaper writing (`api/access_log.py`, `api/http_protocol.py`): uvicorn's access
line, the same text, the lines of one event-loop turn written together; a connection's
writes of one turn sent with one write, nothing held past the turn."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from uvicorn.logging import AccessFormatter as UvicornAccessFormatter

from statewright.api.access_log import AccessFormatter, AccessHandler, AccessLogger, log_config
from statewright.api.http_protocol import CoalescedWrites

FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'


def record(status: int, level: int = logging.INFO) -> logging.LogRecord:
    args = ("127.0.0.1:5000", "POST", "/api/v1/instances/o%201/events?x=1", "1.1", status)
    return logging.LogRecord(
        "uvicorn.access", level, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )


@pytest.mark.parametrize("colors", [False, True])
@pytest.mark.parametrize("status", [200, 404, 500, 599])
def test_the_access_line_is_uvicorns(colors: bool, status: int) -> None:
    ours = AccessFormatter(FORMAT, use_colors=colors).format(record(status))
    theirs = UvicornAccessFormatter(FORMAT, use_colors=colors).format(record(status))
    assert ours == theirs
    assert ours == AccessFormatter(FORMAT, use_colors=colors).format(record(status))  # cached


def test_the_log_config_is_uvicorns_with_the_access_formatter_and_handler_here() -> None:
    config = log_config()
    assert config["formatters"]["access"]["()"] == "statewright.api.access_log.AccessFormatter"
    assert config["formatters"]["access"]["fmt"] == FORMAT
    assert config["handlers"]["access"]["class"] == "statewright.api.access_log.AccessHandler"
    assert config["loggers"]["uvicorn.access"]["handlers"] == ["access"]


class Written(io.StringIO):
    """A stream that records each write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return super().write(text)


def test_the_lines_of_one_turn_are_written_together_at_its_end() -> None:
    stream = Written()
    handler = AccessHandler(stream)
    handler.setFormatter(AccessFormatter(FORMAT, use_colors=False))
    seen: list[list[str]] = []

    async def answer() -> None:
        for status in (200, 409, 200):
            handler.handle(record(status))
        seen.append(list(stream.writes))  # nothing yet: the turn goes on
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        seen.append(list(stream.writes))

    asyncio.run(answer())
    assert seen[0] == []
    (text,) = seen[1]
    line = 'INFO:     127.0.0.1:5000 - "POST /api/v1/instances/o%201/events?x=1 HTTP/1.1" '
    assert text.splitlines() == [line + "200 OK", line + "409 Conflict", line + "200 OK"]
    handler.handle(record(201))  # outside an event loop: at once
    assert len(stream.writes) == 2 and stream.writes[1].endswith("201 Created\n")


def test_a_flush_writes_the_lines_held() -> None:
    stream = Written()
    handler = AccessHandler(stream)
    handler.setFormatter(AccessFormatter(FORMAT, use_colors=False))

    async def answer_and_flush() -> None:
        handler.handle(record(200))
        handler.flush()  # as logging does at exit
        assert len(stream.writes) == 1

    asyncio.run(answer_and_flush())
    assert len(stream.writes) == 1


def test_a_connections_writes_of_one_turn_go_out_together_and_a_close_sends_them() -> None:
    async def exchange() -> tuple[bytes, bytes, bytes]:
        ours, peer = socket.socketpair()
        peer.setblocking(False)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        wrapped = CoalescedWrites(transport, loop)  # type: ignore[arg-type]
        wrapped.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        wrapped.write(b"{}")
        before = _read(peer)  # the turn goes on: nothing sent yet
        await asyncio.sleep(0.01)
        after = _read(peer)
        wrapped.write(b"last")
        wrapped.close()
        await asyncio.sleep(0.01)
        closed = _read(peer)
        peer.close()
        return before, after, closed

    before, after, closed = asyncio.run(exchange())
    assert before == b""
    assert after == b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    assert closed == b"last"


ARGS = ("127.0.0.1:5000", "POST", "/api/v1/instances/o%201/events?x=1", "1.1", 200)
MESSAGE = '%s - "%s %s HTTP/%s" %d'


def access_logger(name: str, stream: io.StringIO, colors: bool = False) -> logging.Logger:
    """A logger configured as `log_config()` configures `uvicorn.access`."""
    logger = logging.getLogger(f"statewright-test.{name}")
    logger.handlers.clear()
    logger.filters.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = AccessHandler(stream)
    handler.setFormatter(AccessFormatter(FORMAT, use_colors=colors))
    logger.addHandler(handler)
    return logger


@pytest.mark.parametrize("colors", [False, True])
def test_the_access_loggers_line_is_the_loggers_own(colors: bool) -> None:
    ours, theirs = io.StringIO(), io.StringIO()
    fast = AccessLogger(access_logger("fast", ours, colors))
    plain = access_logger("plain", theirs, colors)
    with made_records() as records:
        for status in (200, 409, 599):
            fast.info(MESSAGE, *ARGS[:4], status)
            plain.info(MESSAGE, *ARGS[:4], status)
    assert ours.getvalue() == theirs.getvalue()
    assert {r.name for r in records} == {plain.name}  # the short way makes no record
    assert len(ours.getvalue().splitlines()) == 3


def test_the_access_logger_holds_its_lines_to_the_end_of_the_turn() -> None:
    stream = Written()
    fast = AccessLogger(access_logger("held", stream))  # type: ignore[arg-type]
    seen: list[int] = []

    async def answer() -> None:
        fast.info(MESSAGE, *ARGS)
        fast.info(MESSAGE, *ARGS)
        seen.append(len(stream.writes))
        await asyncio.sleep(0)
        seen.append(len(stream.writes))

    asyncio.run(answer())
    assert seen == [0, 1]
    assert stream.getvalue().count("200 OK\n") == 2


def _filtered(logger: logging.Logger) -> None:
    logger.addFilter(lambda record: record.args[4] != 404)  # type: ignore[index]


def _another_handler(logger: logging.Logger) -> None:
    logger.addHandler(logging.StreamHandler(logger.handlers[0].stream))  # type: ignore[attr-defined]


def _handler_filtered(logger: logging.Logger) -> None:
    logger.handlers[0].addFilter(lambda record: record.args[4] != 404)  # type: ignore[index]


def _another_format(logger: logging.Logger) -> None:
    logger.handlers[0].setFormatter(
        AccessFormatter("%(levelname)s %(status_code)s", use_colors=False)
    )


def _propagating(logger: logging.Logger) -> None:
    logger.propagate = True


@pytest.mark.parametrize(
    "configure", [_filtered, _another_handler, _handler_filtered, _another_format, _propagating]
)
def test_an_access_logger_configured_otherwise_logs_through_the_logger(configure: Any) -> None:
    ours, theirs = io.StringIO(), io.StringIO()
    fast_logger = access_logger(f"other-{configure.__name__}", ours)
    plain = access_logger(f"other-plain-{configure.__name__}", theirs)
    configure(fast_logger)
    configure(plain)
    fast = AccessLogger(fast_logger)
    with made_records() as records:
        for status in (200, 404):
            fast.info(MESSAGE, *ARGS[:4], status)
            plain.info(MESSAGE, *ARGS[:4], status)
    assert [r.name for r in records].count(fast_logger.name) == 2  # through the logger
    assert ours.getvalue() == theirs.getvalue()


@contextlib.contextmanager
def made_records() -> Iterator[list[logging.LogRecord]]:
    """The log records made meanwhile."""
    made: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def recorded(*args: Any, **kwargs: Any) -> logging.LogRecord:
        made.append(factory(*args, **kwargs))
        return made[-1]

    logging.setLogRecordFactory(recorded)
    try:
        yield made
    finally:
        logging.setLogRecordFactory(factory)


def test_an_access_logger_above_info_logs_nothing() -> None:
    stream = io.StringIO()
    logger = access_logger("quiet", stream)
    logger.setLevel(logging.WARNING)
    AccessLogger(logger).info(MESSAGE, *ARGS)
    logger.setLevel(logging.INFO)
    logger.handlers[0].setLevel(logging.WARNING)
    AccessLogger(logger).info(MESSAGE, *ARGS)
    assert stream.getvalue() == ""
    logger.handlers[0].setLevel(logging.NOTSET)
    with made_records() as records:
        AccessLogger(logger).info("%s %s", "another", "message")  # not an access line
    assert [r.getMessage() for r in records] == ["another message"]


def _read(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except BlockingIOError:
        return b""

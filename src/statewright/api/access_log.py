"""`serve`'s access log, written for less CPU: uvicorn's line, the same text, without copying
each record twice to format it, and the lines of one turn of the event loop written together
(one write and flush per turn, instead of one per request).

    INFO:     127.0.0.1:50412 - "POST /api/v1/instances/o-1/events HTTP/1.1" 200 OK

`log_config()` is uvicorn's own logging configuration with these two in place of its access
formatter and handler; `serve` hands it to uvicorn. A line is written at the end of the
event-loop turn that answered its request (at the latest when the process's logging shuts
down), so a line is never held back while the server waits for work.

`AccessLogger` stands in for the `uvicorn.access` logger in `serve`'s HTTP protocol: while
that logger is configured as `log_config()` leaves it (its one handler an `AccessHandler`
formatting with an `AccessFormatter` in uvicorn's format, no filters, INFO enabled, not
propagating), a line is made and held without a log record (the logging module's record,
its caller lookup and its handler chain cost more than the line); configured any other way
(another handler, a filter, a level, a format), every line goes through the logger as
before.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from typing import Any

try:  # uvicorn's own styling; before it had one, uvicorn styled with click's
    from uvicorn._ansi import style as ansi_style
except ImportError:  # pragma: no cover - older uvicorn
    from click import style as ansi_style  # type: ignore[assignment]
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter as UvicornAccessFormatter

__all__ = ["AccessFormatter", "AccessHandler", "AccessLogger", "log_config"]

#: uvicorn's access line format (`LOGGING_CONFIG`) and the message its protocols log.
ACCESS_FORMAT = '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s'
ACCESS_MESSAGE = '%s - "%s %s HTTP/%s" %d'


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration, its access lines formatted and written here."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["access"]["()"] = f"{__name__}.AccessFormatter"
    config["handlers"]["access"]["class"] = f"{__name__}.AccessHandler"
    return config


class AccessFormatter(UvicornAccessFormatter):
    """uvicorn's access formatter, the same text, made from the record without copying it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statuses: dict[int, str] = {}

    def formatMessage(self, record: logging.LogRecord) -> str:
        if not isinstance(self._style, logging.PercentStyle) or not isinstance(record.args, tuple):
            return super().formatMessage(record)
        client_addr, method, full_path, http_version, status_code = record.args
        levelprefix, request_line, status = self._parts(
            record.levelname, record.levelno, method, full_path, http_version, status_code
        )
        values = dict(record.__dict__)
        values["levelprefix"] = levelprefix
        values["client_addr"] = client_addr
        values["request_line"] = request_line
        values["status_code"] = status
        return self._style._fmt % values

    def access_line(
        self, client_addr: Any, method: Any, full_path: Any, http_version: Any, status_code: Any
    ) -> str:
        """The line of an INFO record of `ACCESS_MESSAGE` with these arguments, formatted in
        `ACCESS_FORMAT` (what `format` makes of it then)."""
        levelprefix, request_line, status = self._parts(
            "INFO", logging.INFO, method, full_path, http_version, status_code
        )
        return f'{levelprefix} {client_addr} - "{request_line}" {status}'

    def _parts(
        self,
        levelname: str,
        levelno: int,
        method: Any,
        full_path: Any,
        http_version: Any,
        status_code: Any,
    ) -> tuple[str, str, str]:
        code = int(status_code)
        status = self._statuses.get(code)
        if status is None:
            status = self._statuses.setdefault(code, self.get_status_code(code))
        separator = " " * (8 - len(levelname))
        request_line = f"{method} {full_path} HTTP/{http_version}"
        if self.use_colors:
            levelname = self.color_level_name(levelname, levelno)
            request_line = ansi_style(request_line, bold=True)
        return levelname + ":" + separator, request_line, status


class AccessHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing the lines of one event-loop turn with one write and flush
    (a line logged outside an event loop is written at once)."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._lines: list[str] = []
        self._due = False  # a write is scheduled on the event loop

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        self.hold(line)  # the lock is held (`Handler.handle`)

    def hold(self, line: str) -> None:
        """Write `line` (ending with the terminator) at the end of this event-loop turn, at
        once outside an event loop (lock held)."""
        self._lines.append(line)
        if self._due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write()
            return
        self._due = True
        loop.call_soon(self._written)

    def _written(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._due = False
            self._write()

    def _write(self) -> None:
        """Write the lines held (lock held)."""
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            self.handleError(logging.makeLogRecord({"msg": "access log lines lost"}))

    def flush(self) -> None:
        """Write what is held, then flush the stream."""
        with self.lock:  # type: ignore[union-attr]
            self._write()
        super().flush()


class AccessLogger:
    """The `uvicorn.access` logger as uvicorn's HTTP protocols use it (`info`), its lines
    made and held by the `AccessHandler` directly while the logger is configured as
    `log_config()` leaves it; otherwise (or for any other message) the logger's own `info`."""

    __slots__ = ("logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def info(self, msg: str, *args: Any) -> None:
        """Log an access line, as `logging.Logger.info` would."""
        handler = self._handler() if msg == ACCESS_MESSAGE and len(args) == 5 else None
        if handler is None:
            self.logger.info(msg, *args)
            return
        formatter: AccessFormatter = handler.formatter  # type: ignore[assignment]
        try:
            line = formatter.access_line(*args) + handler.terminator
        except Exception:  # as the logger would meet it: the handler's error report
            self.logger.info(msg, *args)
            return
        with handler.lock:  # type: ignore[union-attr]
            handler.hold(line)

    def _handler(self) -> AccessHandler | None:
        """The one `AccessHandler` a line goes to unchanged, when the logger is configured
        as `log_config()` leaves it; else None."""
        logger = self.logger
        handlers = logger.handlers
        if len(handlers) != 1 or logger.filters or logger.propagate or logger.disabled:
            return None
        (handler,) = handlers
        if type(handler) is not AccessHandler or handler.filters or handler.level > logging.INFO:
            return None
        formatter = handler.formatter
        if (
            type(formatter) is not AccessFormatter
            or type(formatter._style) is not logging.PercentStyle
            or formatter._style._fmt != ACCESS_FORMAT
            or not logger.isEnabledFor(logging.INFO)
        ):
            return None
        return handler

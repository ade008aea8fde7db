"""`serve`'s access log, written for less CPU: uvicorn's line, the same text, without copying
each record twice to format it, and the lines of one turn of the event loop written together
(one write and flush per turn, instead of one per request).

    INFO:     127.0.0.1:50412 - "POST /api/v1/instances/o-1/events HTTP/1.1" 200 OK

`log_config()` is uvicorn's own logging configuration with these two in place of its access
formatter and handler; `serve` hands it to uvicorn. A line is written at the end of the
event-loop turn that answered its request (at the latest when the process's logging shuts
down), so a line is never held back while the server waits for work.
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

__all__ = ["AccessFormatter", "AccessHandler", "log_config"]


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
        code = int(status_code)  # type: ignore[call-overload]
        status = self._statuses.get(code)
        if status is None:
            status = self._statuses.setdefault(code, self.get_status_code(code))
        levelname = record.levelname
        separator = " " * (8 - len(levelname))
        request_line = f"{method} {full_path} HTTP/{http_version}"
        if self.use_colors:
            levelname = self.color_level_name(levelname, record.levelno)
            request_line = ansi_style(request_line, bold=True)
        values = dict(record.__dict__)
        values["levelprefix"] = levelname + ":" + separator
        values["client_addr"] = client_addr
        values["request_line"] = request_line
        values["status_code"] = status
        return self._style._fmt % values


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
        self._lines.append(line)  # the lock is held (`Handler.handle`)
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

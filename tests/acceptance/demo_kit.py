"""Running `bash scripts/demo` as a person would, for the demo's tests: a real process in its
own process group, its output read line by line, the URL and token it prints picked out."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).parents[2]
URL = re.compile(r"^\s*console\s+(?P<url>http://\S+?)/?\s*$")
TOKEN = re.compile(r"^\s*token\s+(?P<token>sw_\S+)\s*$")


@dataclass
class DemoRun:
    """A running `bash scripts/demo`, its output lines as they come."""

    process: subprocess.Popen[str]
    folder: Path
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)
    url: str = ""
    token: str = ""

    def read_banner(self, timeout_s: float = 180.0) -> None:
        """Read lines until the URL and the token are printed (the first run may install)."""
        deadline = time.monotonic() + timeout_s
        while not (self.url and self.token):
            line = self.next_line(deadline - time.monotonic())
            assert line is not None, f"the demo ended before printing a URL and token: {self}"
            if found := URL.match(line):
                self.url = found["url"]
            if found := TOKEN.match(line):
                self.token = found["token"]

    def next_line(self, timeout_s: float) -> str | None:
        """The next line of output, None at its end; fails after `timeout_s`."""
        try:
            line = self._queue.get(timeout=max(timeout_s, 0.01))
        except queue.Empty:
            raise AssertionError(f"no output for {timeout_s:.0f} s: {self.lines}") from None
        if line is not None:
            self.lines.append(line)
        return line

    def finish(self, timeout_s: float) -> tuple[int, str, str]:
        """Wait for the end: the exit status, all of stdout, all of stderr."""
        status = self.process.wait(timeout_s)
        while self.next_line(5) is not None:
            pass
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        self.close()
        return status, "".join(self.lines), err

    def close(self) -> None:
        """Close the pipes from the process (after its end)."""
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()

    def __str__(self) -> str:
        return "".join(self.lines)


def start_demo(folder: Path, *args: str) -> DemoRun:
    """Start `bash scripts/demo --port 0 --dir FOLDER ARGS...` (a free port, a test folder)."""
    env = {k: v for k, v in os.environ.items() if k != "STATEWRIGHT_URL"}
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "demo"), "--port", "0", "--dir", str(folder), *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    run = DemoRun(process, folder)
    threading.Thread(target=_pump, args=(process, run._queue), daemon=True).start()
    return run


def stop_quietly(run: DemoRun) -> None:
    """After a failed test: end the demo's process group if it still runs."""
    if run.process.poll() is None:
        os.killpg(run.process.pid, 9)
        run.process.wait()
    run.close()


def processes_in(folder: Path) -> list[int]:
    """The processes whose working folder is `folder` (the demo's server works there)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == folder:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _pump(process: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
    assert process.stdout is not None
    try:
        for line in process.stdout:
            lines.put(line)
    except (OSError, ValueError):
        pass  # closed by `stop_quietly` after a failed test
    lines.put(None)

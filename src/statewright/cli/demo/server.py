"""The demo's server: `statewright serve --with-worker` as a child process over the demo's
folder, its log lines in a file.

The child runs in its own session, so that a Ctrl-C in the terminal reaches only the demo,
which stops its traffic first and then the server (SIGTERM: the server finishes the requests
and steps in hand). On Linux the child is also told to stop if the demo dies without doing
so (a SIGKILL), so no server is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from statewright.cli.demo.folder import DemoFolder

__all__ = ["Server", "free_port", "port_is_free"]


def port_is_free(host: str, port: int) -> bool:
    """Whether nothing listens on `host`:`port` (so that `serve` can bind it)."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port on `host` nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


class Server:
    """The `serve --with-worker` child of one demo run."""

    def __init__(self, folder: DemoFolder, host: str, port: int) -> None:
        self.folder = folder
        self.base = f"http://{host}:{port}"
        self._host, self._port = host, port
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the child; its output goes to the folder's log file."""
        command = [
            sys.executable, "-m", "statewright", "serve", "--with-worker",
            "--url", self.folder.url, "--machines", str(self.folder.machines),
            "--host", self._host, "--port", str(self._port), "--no-access-log",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "STATEWRIGHT_URL"}
        parent = os.getpid()
        with self.folder.log.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self.folder.path,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=(lambda: _die_with_parent(parent)) if sys.platform == "linux" else None,
            )

    @property
    def pid(self) -> int | None:
        """The child's process id (None before `start`)."""
        return None if self._process is None else self._process.pid

    def exited(self) -> int | None:
        """The child's exit status if it has ended, else None."""
        return None if self._process is None else self._process.poll()

    def wait_ready(self, stop: threading.Event, timeout_s: float = 60.0) -> bool:
        """Wait until the API answers `/api/health/ready`; False if the child ended, `stop`
        was set or `timeout_s` passed first."""
        deadline = time.monotonic() + timeout_s
        while not stop.is_set() and time.monotonic() < deadline:
            if self.exited() is not None:
                return False
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/api/health/ready", timeout=2).status_code == 200:
                    return True
            stop.wait(0.2)
        return False

    def stop(self, hurry: threading.Event, timeout_s: float = 30.0) -> int | None:
        """Stop the child: SIGTERM, then SIGKILL after `timeout_s` or as soon as `hurry` is
        set (a second Ctrl-C); its exit status."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            _signal_group(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while process.poll() is None:
                if hurry.is_set() or time.monotonic() > deadline:
                    self.kill()
                    break
                hurry.wait(0.05)
        return process.wait()

    def kill(self) -> None:
        """End the child and anything it started, at once."""
        if self._process is not None and self._process.poll() is None:
            _signal_group(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the server's log."""
        try:
            text = self.folder.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the child's process group (it leads it: it was started in its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _die_with_parent(parent: int) -> None:
    """In the child, before it runs: ask Linux to send it SIGTERM when its parent dies (and
    stop now if the parent is already gone)."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    if os.getppid() != parent:
        os._exit(1)

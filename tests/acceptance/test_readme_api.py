"""The README's walk-through from install to a running API, run command by command as written.

The commands are read from README.md between `<!-- api-walkthrough:start -->` and
`<!-- api-walkthrough:end -->`, so the test cannot drift from the README. Each runs in bash,
in a fresh folder, with these three departures, and only these:

- `pip install .` is not run: the package this test runs under is already installed (its
  `statewright` command is first on PATH), and installing again would take minutes;
- port 8000 becomes a free loopback port (the machine may be serving something on 8000);
- after the `serve ... &` line, the test also waits until the server answers (the README's
  next line waits for readiness too; the test's wait reports a server that died).

`serve` runs as a real process, in its own process group, stopped by SIGTERM at the end.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

README = Path(__file__).parents[2] / "README.md"
START = "<!-- api-walkthrough:start -->"
END = "<!-- api-walkthrough:end -->"
EXPORT = re.compile(r"export (?P<name>[A-Z_]+)=\$\((?P<command>.*)\)")


def walkthrough() -> list[str]:
    """The commands of the README section, continuation lines joined."""
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, "the README lost its walk-through markers"
    section = text.split(START, 1)[1].split(END, 1)[0]
    block = section.split("```sh", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_readme_has_at_most_ten_commands_from_install_to_a_running_api() -> None:
    commands = walkthrough()
    assert len(commands) <= 10
    assert commands[0].startswith("pip install")
    assert any(c.startswith("statewright serve") and c.endswith("&") for c in commands)
    serve = next(c for c in commands if c.startswith("statewright serve"))
    assert "--url" not in serve and "--machines" not in serve  # the project says it


def test_the_readme_walkthrough_runs_as_written(tmp_path: Path) -> None:
    port = str(free_port())
    env = {k: v for k, v in os.environ.items() if k != "STATEWRIGHT_URL"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    folder = tmp_path
    outputs: list[str] = []
    server: subprocess.Popen[str] | None = None
    try:
        for written in walkthrough():
            command = written.replace("8000", port)
            if command.startswith("pip install"):
                continue  # the package under test is installed already (see the docstring)
            if command.startswith("cd "):
                folder = folder / command.removeprefix("cd ").strip()
                assert folder.is_dir(), f"{written}: no such folder"
                continue
            exported = EXPORT.fullmatch(command)
            if exported:
                value = _run(exported["command"], folder, env)
                env[exported["name"]] = value.strip()
                continue
            if command.endswith("&"):
                server = subprocess.Popen(
                    ["bash", "-c", f"exec {command.removesuffix('&').strip()}"],
                    cwd=folder,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
                wait_until_live(server, f"http://127.0.0.1:{port}")
                continue
            outputs.append(_run(command, folder, env))
        started, approved, read = (json.loads(out) for out in outputs[-3:])
        assert (started["id"], started["value"]) == ("A-1", "pending_approval")
        assert approved["to_value"] == "paying" and approved["actor"].startswith("web (token")
        assert read["id"] == "A-1" and read["value"] in ("paying", "paid")
        # What the README promises a moment later: the worker in serve charged the card.
        deadline = time.monotonic() + 30
        auth = {"Authorization": f"Bearer {env['TOKEN']}"}
        while True:
            now = httpx.get(f"http://127.0.0.1:{port}/api/v1/instances/A-1", headers=auth).json()
            if now["value"] == "paid":
                break
            assert time.monotonic() < deadline, f"A-1 is still {now['value']} after 30 s"
            time.sleep(0.1)
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            _, err = server.communicate(timeout=30)
            assert server.returncode == 0, err


def _run(command: str, folder: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        ["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def wait_until_live(server: subprocess.Popen[str], base: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/api/health/live", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.communicate()
        assert time.monotonic() < deadline, "serve did not answer within 30 s"
        time.sleep(0.1)

"""`statewright serve` as a real process on a loopback port, and `statewright tokens`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_kit import ORDER
from sse_kit import stop_on_sigterm
from typer.testing import CliRunner

from statewright.cli import app
from statewright.cli.commands.serve import is_loopback
from statewright.engine import Engine

runner = CliRunner()

MACHINES = f"""
from statewright import Machine

MACHINES = [Machine.from_config({ORDER!r})]
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_tokens_create_list_and_revoke(store_url: str) -> None:
    created = runner.invoke(
        app,
        ["tokens", "create", "--url", store_url, "--tenant", "acme", "--role", "operator",
         "--name", "ci", "--event-role", "approver", "--json"],
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    token = json.loads(created.stdout)
    assert token["token"].startswith(f"sw_{token['prefix']}_") and token["role"] == "operator"
    assert token["event_roles"] == ["approver"] and token["payloads"] is True
    plain = runner.invoke(app, ["tokens", "create", "--url", store_url, "--no-payloads"])
    assert plain.exit_code == 0 and plain.stdout.strip().startswith("sw_")
    assert "shown this once" in plain.stderr
    listed = runner.invoke(
        app, ["tokens", "list", "--url", store_url, "--tenant", "acme", "--json"]
    )
    assert [t["prefix"] for t in json.loads(listed.stdout)] == [token["prefix"]]
    assert token["token"] not in listed.stdout
    table = runner.invoke(app, ["tokens", "list", "--url", store_url])
    assert token["prefix"] in table.stdout and "viewer" in table.stdout
    revoked = runner.invoke(app, ["tokens", "revoke", token["prefix"], "--url", store_url])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    with Engine.open(store_url) as engine:
        assert engine.authenticate(token["token"]) is None


def test_tokens_refusals_exit_with_the_tables_codes_naming_the_fix(store_url: str) -> None:
    bad_role = runner.invoke(app, ["tokens", "create", "--url", store_url, "--role", "root"])
    assert bad_role.exit_code == 2 and "viewer, operator, admin" in bad_role.stderr
    assert bad_role.stdout == ""  # nothing created, no secret shown
    unknown = runner.invoke(app, ["tokens", "revoke", "0123456789ab", "--url", store_url])
    assert unknown.exit_code == 3 and "tokens list" in unknown.stderr
    as_json = runner.invoke(app, ["tokens", "revoke", "0123456789ab", "--url", store_url, "--json"])
    assert as_json.exit_code == 3
    assert json.loads(as_json.stdout)["error"] == "NotFound"
    with Engine.open(store_url) as engine:
        assert engine.tokens() == []


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("[::1]") and is_loopback("127.0.0.2")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")
    assert not is_loopback("example.com")


@pytest.mark.slow
def test_serve_answers_on_a_loopback_port_and_stops_on_sigterm(
    store_url: str, tmp_path: Path
) -> None:
    machines = tmp_path / "machines.py"
    machines.write_text(MACHINES)
    with Engine.open(store_url) as engine:
        _, secret = engine.create_token(tenant="acme", role="admin", name="test")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url, "--port", str(port),
         "--machines", str(machines)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_live(server, base)
        auth = {"Authorization": f"Bearer {secret}"}
        assert httpx.get(f"{base}/api/v1/definitions").status_code == 401
        started = httpx.post(
            f"{base}/api/v1/instances/o1",
            json={"definition": "order", "input": {"amount": 3}},
            headers=auth,
        )
        assert started.status_code == 201 and started.headers["location"] == "/api/v1/instances/o1"
        sent = httpx.post(
            f"{base}/api/v1/instances/o1/events",
            json={"type": "APPROVE", "by": "ann"},
            headers=auth | {"If-Match": '"1"'},
        )
        assert sent.status_code == 200 and sent.json()["to_value"] == "approved"
        assert "server" not in sent.headers
        assert httpx.get(f"{base}/api/health/ready").status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"at http://127.0.0.1:{port}" in out and "warning" not in err
    assert '"POST /api/v1/instances/o1/events HTTP/1.1" 200' in out  # the access log, by default
    with Engine.open(store_url) as engine:
        assert engine.get("o1", tenant="acme").context == {"amount": 3, "approvedBy": "ann"}


QUICK = """
from statewright import Machine

MACHINES = [Machine.from_config({
    "id": "quick",
    "initial": "a",
    "states": {
        "a": {"after": {"0": "b"}},
        "b": {"invoke": {"id": "job", "src": "job", "onDone": "c"}},
        "c": {"type": "final"},
    },
}, actors={"job": lambda input: {"ok": True}})]
"""


@pytest.mark.slow
def test_serve_with_worker_runs_timers_and_steps_in_the_same_process(
    store_url: str, tmp_path: Path
) -> None:
    machines = tmp_path / "machines.py"
    machines.write_text(QUICK)
    with Engine.open(store_url) as engine:
        _, secret = engine.create_token(role="operator")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url, "--port", str(port),
         "--machines", str(machines), "--with-worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {secret}"}
    try:
        wait_until_live(server, base)
        started = httpx.post(
            f"{base}/api/v1/instances/q1", json={"definition": "quick"}, headers=auth
        )
        assert started.status_code == 201, started.text
        deadline = time.monotonic() + 30
        while httpx.get(f"{base}/api/v1/instances/q1", headers=auth).json()["status"] != "done":
            assert time.monotonic() < deadline, "the worker in serve did not finish q1"
            time.sleep(0.05)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "worker started" in err and "worker stopped" in err


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


@pytest.mark.slow
def test_serve_without_the_access_log_logs_no_line_per_request(store_url: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url, "--port", str(port),
         "--no-access-log"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until_live(server, f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/definitions").status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "GET /api/health/live" not in out + err and "GET /api/v1/definitions" not in out + err
    assert "Application startup complete" in err  # the server's own lines stay


@pytest.mark.slow
def test_serve_warns_when_bound_beyond_loopback(store_url: str) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url, "--port", str(port),
         "--host", "0.0.0.0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_until_live(server, f"http://127.0.0.1:{port}")
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert "warning: serving on 0.0.0.0, reachable from the network" in err


@pytest.mark.slow
def test_serve_with_two_processes_commits_every_send_once(store_url: str, tmp_path: Path) -> None:
    machines = tmp_path / "machines.py"
    machines.write_text(MACHINES)
    with Engine.open(store_url) as engine:
        _, secret = engine.create_token(tenant="acme", role="admin", name="test")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url, "--port", str(port),
         "--machines", str(machines), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {secret}"}
    try:
        wait_until_live(server, base)
        for index in range(4):
            started = httpx.post(
                f"{base}/api/v1/instances/o{index}",
                json={"definition": "order", "input": {"amount": 3}},
                headers=auth,
            )
            assert started.status_code == 201, started.text
        # Fresh connections, so that both processes take requests; each note is kept once.
        for turn in range(12):
            sent = httpx.post(
                f"{base}/api/v1/instances/o{turn % 4}/events",
                json={"type": "NOTE", "text": str(turn)},
                headers=auth,
            )
            assert sent.status_code == 200, sent.text
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "with 2 processes" in out
    with Engine.open(store_url) as engine:
        for index in range(4):
            notes = [e.event.get("text") for e in engine.history(f"o{index}", tenant="acme")]
            assert notes[1:] == [str(turn) for turn in range(index, 12, 4)]
            assert engine.verify(f"o{index}", tenant="acme").ok


@pytest.mark.slow
def test_serve_stops_when_a_server_process_cannot_make_its_app(
    store_url: str, tmp_path: Path
) -> None:
    # The parent loads the definitions before it starts the processes (with the settings
    # variable unset); each process then fails to load them: it must not be started anew.
    machines = tmp_path / "machines.py"
    machines.write_text(
        "import os\n"
        "if 'STATEWRIGHT_SERVE_SETTINGS' in os.environ:\n"
        "    raise RuntimeError('no definitions in a server process')\n" + MACHINES
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url,
         "--port", str(free_port()), "--machines", str(machines), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        out, err = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 1, err
    assert "with 2 processes" in out
    assert "could not start: " in err and "no definitions in a server process" in err
    assert "died" not in err  # no process was started anew
    assert (
        err.rstrip()
        .splitlines()[-1]
        .endswith("a server process failed to start (its error is logged above)")
    )


def test_serve_refuses_a_worker_beside_several_processes(store_url: str) -> None:
    refused = runner.invoke(app, ["serve", "--url", store_url, "--workers", "2", "--with-worker"])
    assert refused.exit_code == 1
    assert "--workers 1" in refused.stderr and "statewright worker" in refused.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_on_a_port_in_use_exits_1_naming_it_before_any_banner(
    store_url: str, workers: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = runner.invoke(
            app, ["serve", "--url", store_url, "--port", str(port), "--workers", workers]
        )
    assert refused.exit_code == 1
    assert refused.stdout == ""  # no "serving ... at" for an address never bound
    (line,) = refused.stderr.splitlines()
    assert f"127.0.0.1:{port}" in line and "pick another --port" in line


def test_serve_on_a_host_that_does_not_resolve_exits_1_naming_it(store_url: str) -> None:
    refused = runner.invoke(
        app, ["serve", "--url", store_url, "--host", "999.1.1.1", "--port", str(free_port())]
    )
    assert refused.exit_code == 1 and refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert "999.1.1.1" in line and "give --host" in line


def serve_on_any_port(store_url: str) -> subprocess.Popen[str]:
    """`serve --port 0` in a process of its own, its output unbuffered."""
    return subprocess.Popen(
        [sys.executable, "-m", "statewright", "serve", "--url", store_url, "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.slow
def test_serve_on_port_0_prints_the_port_it_bound(store_url: str) -> None:
    server = serve_on_any_port(store_url)
    try:
        assert server.stdout is not None
        banner = server.stdout.readline()
        port = int(banner.split("at http://127.0.0.1:")[1].split()[0])
        assert port != 0, banner
        wait_until_live(server, f"http://127.0.0.1:{port}")
    finally:
        stop_on_sigterm(server)


def test_serve_stopped_right_after_its_banner_exits_0(store_url: str) -> None:
    """SIGTERM between the banner and uvicorn's own signal handlers still stops it."""
    server = serve_on_any_port(store_url)
    try:
        assert server.stdout is not None and "serving" in server.stdout.readline()
    finally:
        stop_on_sigterm(server)


@pytest.mark.parametrize("more", [[], ["--with-worker"], ["--workers", "2", "--with-worker"]])
def test_serve_on_a_store_it_cannot_reach_exits_at_once(more: list[str]) -> None:
    """No waiting at start (nothing is served yet): one line and exit 5; an option conflict
    is refused before the store is even tried (exit 1)."""
    server = subprocess.run(
        [sys.executable, "-m", "statewright", "serve", "--url", "postgresql://127.0.0.1:1/x",
         "--port", str(free_port()), *more],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    (line,) = server.stderr.splitlines()
    if "--workers" in more:
        assert server.returncode == 1 and "--workers 1" in line
    else:
        assert server.returncode == 5 and "cannot reach PostgreSQL at" in line
    assert "statewright.worker" not in server.stderr and server.stdout == ""

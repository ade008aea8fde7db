"""Debian's nginx as a reverse proxy in front of a real `statewright serve`, for the tests
that check what docs/operations.md ("Behind nginx") says: nginx runs as this process's own
child on loopback ports, with a config written into a temp folder (no system service, no
privileged port), and is stopped afterwards. `requires_nginx` skips a test, naming how to
install it, where nginx is absent (scripts/test installs it)."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sse_kit import free_port

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
OPENSSL = shutil.which("openssl")

requires_nginx = pytest.mark.skipif(
    NGINX is None,
    reason="nginx is not installed (apt-get install nginx; scripts/test installs it)",
)
requires_openssl = pytest.mark.skipif(
    OPENSSL is None,
    reason="openssl is not installed, so no certificate for nginx's https listener "
    "(apt-get install openssl)",
)


def documented_server(location: str = "location / {") -> str:
    """The `nginx` block of docs/operations.md, "Behind nginx", that holds `location`, as
    written there (one at the root of a host name, one under the prefix /statewright/)."""
    blocks = re.findall(r"```nginx\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    found = [block for block in blocks if location in block]
    assert len(found) == 1, f"{DOCS} should hold one nginx block with {location!r}: {len(found)}"
    return str(found[0])


def documented_nginx_server(folder: Path, serve_base: str, location: str = "") -> tuple[str, str]:
    """docs/operations.md's `server` block, made to listen on a free loopback port with a
    self-signed certificate (in `folder`) in front of `serve_base`, `location` added to
    its `location /`; and the base URL (https) clients use."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    port = free_port()
    server = documented_server()
    for was, now in [
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/ssl/certs/statewright.pem", str(cert)),
        ("/etc/ssl/private/statewright.key", str(key)),
        ("http://127.0.0.1:8000;", f"http://127.0.0.1:{serve_base.rsplit(':', 1)[1]};"),
        ("location / {", "location / {\n" + location),
    ]:
        assert was in server, f"docs/operations.md's nginx block no longer has {was!r}"
        server = server.replace(was, now)
    return server, f"https://127.0.0.1:{port}"


def documented_prefixed_server(folder: Path, serve_base: str) -> tuple[str, str]:
    """docs/operations.md's `server` block with `location /statewright/`, made to listen on
    a free loopback port with a self-signed certificate (in `folder`) in front of
    `serve_base` (a `serve --root-path /statewright`); and the base URL (https) of the host,
    without the prefix."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    port = free_port()
    server = documented_server("location /statewright/ {")
    for was, now in [
        ("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;"),
        ("/etc/ssl/certs/tools.pem", str(cert)),
        ("/etc/ssl/private/tools.key", str(key)),
        ("http://127.0.0.1:8000/;", f"http://127.0.0.1:{serve_base.rsplit(':', 1)[1]}/;"),
    ]:
        assert was in server, f"docs/operations.md's prefixed nginx block no longer has {was!r}"
        server = server.replace(was, now)
    return server, f"https://127.0.0.1:{port}"


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    assert OPENSSL is not None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def nginx(folder: Path, server: str, *, http: str = "") -> Iterator[None]:
    """nginx with `server` (one or more `server { }` blocks, listening on loopback ports) and
    `http` (more directives of the `http { }` block), running while the block runs."""
    assert NGINX is not None
    folder.mkdir(parents=True, exist_ok=True)
    ports = [int(p) for p in re.findall(r"listen\s+127\.0\.0\.1:(\d+)", server)]
    assert ports, f"no listen 127.0.0.1:PORT in {server}"
    config = folder / "nginx.conf"
    config.write_text(
        f"""
daemon off;
master_process off;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    {http}
    {server}
}}
"""
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        for port in ports:
            while True:
                assert process.poll() is None, (
                    f"nginx stopped: {process.communicate()[0]}\n{_log(folder)}"
                )
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, f"nginx did not listen: {_log(folder)}"
                    time.sleep(0.05)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def _log(folder: Path) -> str:
    log = folder / "error.log"
    return log.read_text()[-3000:] if log.exists() else ""


def client_from(address: str, base: str, **options: object) -> httpx.Client:
    """A client whose connections come from the loopback `address` (127.0.0.3, ...), so that
    tests tell clients apart as a server sees them."""
    transport = httpx.HTTPTransport(local_address=address, verify=False)
    return httpx.Client(base_url=base, transport=transport, verify=False, **options)  # type: ignore[arg-type]

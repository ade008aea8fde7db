"""The load generator of `benchmarks.http`, run in a process of its own.

    python -m benchmarks.http_load '<json plan>' [results.json]   # else prints one JSON line

Each client is one keep-alive HTTP/1.1 connection sending `POST /api/v1/instances/{id}/events`
one request at a time (the next only after the answer), round-robin over its instances.
HTTP is written and parsed by hand on asyncio streams: a general client (httpx) spends
several times the CPU per request, and this machine's two cores are shared with the server.

Plan members: `port`, `token`, `clients` (a list, one list of instance ids per client),
`warmup` and `seconds` (requests are timed only after the warm-up), and `if_match`: send
`If-Match` with the version last seen of the instance (from the `ETag` of a 200, or the
`current_version` of a 412), so that clients sharing instances lose races as 412s;
`probe`: send `GET /api/health/live` instead (no token, no database): the HTTP stack's floor;
`start`: send `POST /api/v1/instances` with `{"definition": <start>}` instead (a new instance
under a generated id each time; 201 counts as done); `keyed`: each start with an
`Idempotency-Key` of its own (its id then derives from the key).
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["main"]


@dataclass
class Tally:
    """What the clients saw during the timed window."""

    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    #: Per instance, the versions that 200s acknowledged (all of them, timed or not).
    acknowledged: dict[str, list[int]] = field(default_factory=dict)


async def _client(
    plan: dict[str, object], ids: list[str], tally: Tally, window: tuple[float, float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", int(str(plan["port"])))
    body = b'{"type":"INC"}'
    starting = plan.get("start")
    if starting:
        body = json.dumps({"definition": starting}).encode()
    base = (
        "Host: 127.0.0.1\r\n"
        f"Authorization: Bearer {plan['token']}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
    )
    versions: dict[str, int] = {}
    # The requests without If-Match, made once: the client's CPU is the server's loss.
    plain = {
        i: f"POST /api/v1/instances/{i}/events HTTP/1.1\r\n{base}\r\n".encode() + body for i in ids
    }
    start, stop = window
    turn = 0
    keys = f"{id(ids):x}-{time.time_ns():x}"  # this client's, unlike any earlier run's
    try:
        while True:
            began = time.perf_counter()
            if began >= stop:
                return
            instance_id = ids[turn % len(ids)]
            turn += 1
            extra = ""
            if plan["if_match"] and instance_id in versions:
                extra = f'If-Match: "{versions[instance_id]}"\r\n'
            if plan.get("probe"):
                writer.write(b"GET /api/health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            elif starting:
                if plan.get("keyed"):
                    extra = f"Idempotency-Key: {keys}-{turn}\r\n"
                head = f"POST /api/v1/instances HTTP/1.1\r\n{base}{extra}\r\n"
                writer.write(head.encode() + body)
            elif not extra:
                writer.write(plain[instance_id])
            else:
                request = (
                    f"POST /api/v1/instances/{instance_id}/events HTTP/1.1\r\n{base}{extra}\r\n"
                )
                writer.write(request.encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length, version = _headers(head)
            payload = await reader.readexactly(length)
            ended = time.perf_counter()
            if status == 200 and version is not None:
                versions[instance_id] = version
                tally.acknowledged.setdefault(instance_id, []).append(version)
            elif status == 412:
                versions[instance_id] = int(json.loads(payload)["current_version"])
            if began < start:
                continue
            if status == 200 or (status == 201 and starting):
                tally.ok += 1
                tally.latencies.append(ended - began)
            else:
                tally.errors[str(status)] = tally.errors.get(str(status), 0) + 1
    finally:
        writer.close()


_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)
_ETAG = re.compile(rb'\r\netag: *(?:W/)?"(\d+)"', re.IGNORECASE)


def _headers(head: bytes) -> tuple[int, int | None]:
    """The response's Content-Length and the version its ETag names (if any)."""
    length = _LENGTH.search(head)
    tag = _ETAG.search(head)
    return int(length.group(1)) if length else 0, int(tag.group(1)) if tag else None


async def run(plan: dict[str, object]) -> dict[str, object]:
    """Run the plan's clients; their tally, the timed window's length and this process's
    CPU seconds."""
    tally = Tally()
    clients = plan["clients"]
    assert isinstance(clients, list)
    now = time.perf_counter()
    start = now + float(str(plan["warmup"]))
    window = (start, start + float(str(plan["seconds"])))
    cpu = time.process_time()
    await asyncio.gather(*(_client(plan, ids, tally, window) for ids in clients))
    tally.latencies.sort()
    return {
        "ok": tally.ok,
        "errors": tally.errors,
        "seconds": window[1] - window[0],
        "latencies": tally.latencies,
        "acknowledged": tally.acknowledged,
        "cpu": time.process_time() - cpu,
    }


def main(argv: list[str]) -> int:
    """Run the plan given as JSON in `argv[0]`; write the results as JSON to the file
    `argv[1]` (through a pipe they once arrived cut at 128 KiB), else print them as one line."""
    plan = json.loads(argv[0])
    try:  # uvloop, when installed (uvicorn's [standard] extra): less CPU per request
        import uvloop

        results = uvloop.run(run(plan))
    except ImportError:
        results = asyncio.run(run(plan))
    if len(argv) > 1:
        Path(argv[1]).write_text(json.dumps(results))
    else:
        print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

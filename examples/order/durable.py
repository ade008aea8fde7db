"""The order workflow, durably: every transition committed to a database.

    python examples/order/durable.py start  --db sqlite:///orders.db --id A-1 --amount 2500
    python examples/order/durable.py send   --db sqlite:///orders.db --id A-1 APPROVE by=ann
    python examples/order/durable.py show   --db sqlite:///orders.db --id A-1

`start` leaves the order waiting for approval (with its 48-hour escalation timer stored as a
row with an absolute due time) and, with --wait, keeps the process alive until it is killed.
Any later process picks the order up where it stands.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from statewright import Engine, Machine

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from steps import ACTORS  # noqa: E402


def open_engine(url: str) -> Engine:
    engine = Engine.open(url)
    engine.register(Machine.load(HERE / "order.json", actors=ACTORS))
    return engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["start", "send", "show"])
    parser.add_argument("event", nargs="?", help="for send: the event type")
    parser.add_argument("fields", nargs="*", help="for send: key=value event fields")
    parser.add_argument("--db", default="sqlite:///orders.db")
    parser.add_argument("--id", required=True)
    parser.add_argument("--amount", type=float, default=2500)
    parser.add_argument("--wait", action="store_true", help="after start, wait to be killed")
    args = parser.parse_intermixed_args()
    with open_engine(args.db) as engine:
        if args.command == "start":
            order = engine.start(
                "order", instance_id=args.id, input={"orderId": args.id, "amount": args.amount}
            )
            print(
                f"{order.id} v{order.version}: {order.value} ({order.runtime_status})", flush=True
            )
            if args.wait:
                signal.pause()
        elif args.command == "send":
            event: dict[str, object] = {"type": args.event}
            event.update(field.split("=", 1) for field in args.fields)
            entry = engine.send(args.id, event, actor="cli")
            print(f"{args.id} v{entry.version}: {entry.from_value} -> {entry.to_value}")
        order = engine.get(args.id)
        print(
            json.dumps(
                {
                    "id": order.id,
                    "version": order.version,
                    "value": order.value,
                    "runtime_status": order.runtime_status,
                    "context": order.context,
                }
            )
        )


if __name__ == "__main__":
    main()

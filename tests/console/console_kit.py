"""What the console's browser tests share: the server handle and the browser's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from statewright.engine import Engine

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
MACHINES_FILE = Path(__file__).with_name("examples_machines.py")
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class ConsoleServer:
    """A running `statewright serve --with-worker` and an engine on its store."""

    url: str
    store_url: str
    engine: Engine
    log: Path
    made: list[str] = field(default_factory=list)

    def token(
        self,
        role: str = "operator",
        tenant: str = "default",
        *,
        name: str = "",
        event_roles: tuple[str, ...] = (),
    ) -> str:
        """A new API token's secret."""
        return self.engine.create_token(
            tenant=tenant, role=role, name=name or f"{role}-{tenant}", event_roles=event_roles
        )[1]

"""The HTTP API: `create_app(engine)` gives the FastAPI application that `statewright serve`
runs with uvicorn. It calls the engine only, never the store."""

from statewright.api.app import ApiSettings, create_app
from statewright.api.stream_hub import StreamSettings

__all__ = ["ApiSettings", "StreamSettings", "create_app"]

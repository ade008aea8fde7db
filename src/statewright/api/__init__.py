"""The HTTP API: `create_app(engine)` gives the FastAPI application that `statewright serve`
runs with uvicorn. It calls the engine only, never the store."""

from statewright.api.app import ApiSettings, create_app

__all__ = ["ApiSettings", "create_app"]

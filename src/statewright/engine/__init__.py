"""The durable engine: every transition committed to SQLite or PostgreSQL with its audit row
and the work it creates, in one transaction."""

from statewright.engine.engine import Engine
from statewright.engine.views import AuditEntry, Instance, StepAttempt, VerifyResult

__all__ = ["AuditEntry", "Engine", "Instance", "StepAttempt", "VerifyResult"]

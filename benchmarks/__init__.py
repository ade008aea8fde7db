"""Benchmarks of statewright; run `python -m benchmarks.core` from the repository root."""

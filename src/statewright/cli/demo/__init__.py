"""`statewright demo`: the three examples live behind `statewright serve --with-worker`, with
a traffic generator acting on them through the HTTP API (or, `--offline`, the order example
stepped in memory)."""

"""The approval workflow's step: processing the document, a queue job that fails a quarter
of the time (the retry policy on the invoke absorbs that). A document whose name starts with
`unreadable` fails every attempt, so the instance ends in `failed`, for a person to look at."""

from __future__ import annotations

import random
from collections.abc import Callable


class ProcessingFailed(Exception):
    """The processing backend dropped the job."""


def make_process(
    rng: random.Random, failure_rate: float = 0.25
) -> Callable[[dict[str, object]], dict[str, object]]:
    """A `processDocument` step failing with probability `failure_rate`, drawn from `rng`."""

    def process_document(input: dict[str, object]) -> dict[str, object]:
        if str(input["document"]).startswith("unreadable"):
            raise ProcessingFailed(f"cannot read {input['document']}")
        if rng.random() < failure_rate:
            raise ProcessingFailed(f"job for {input['document']} dropped")
        return {"summary": f"{input['document']}, round {input['round']}"}

    return process_document


ACTORS = {"processDocument": make_process(random.Random())}

"""Shared helpers for the benchmarks: repeated timing and a side-by-side table of medians and ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

NOOP_APP = """
from sqs_lambda import Router

router = Router()


@router.job()
def noop(n: int) -> None:
    return None


lambda_handler = router.lambda_handler
"""  # a function with one no-op job: what the runtime benchmarks run


def repeat(function: Callable[[], object], rounds: int) -> list[float]:
    """Wall times (seconds) of ``rounds`` calls, interleaving is up to the caller."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


def table(title: str, unit: str, results: dict[str, float], baseline: str, scale: float = 1.0) -> str:
    """Medians with the ratio of each to ``baseline`` (so the numbers can be compared within one run)."""
    lines = [title, f"{'variant':<34}{'median ' + unit:>18}   ratio vs {baseline}"]
    base = results[baseline]
    for name, value in results.items():
        lines.append(f"{name:<34}{value * scale:>18.3f}   {value / base:.2f}")
    return "\n".join(lines)


def median(values: list[float]) -> float:
    return statistics.median(values)


@contextmanager
def sqs_endpoint(url: str | None) -> Iterator[str]:
    """The endpoint to measure against: ``url``, or an embedded moto server for the duration.

    Points sqs-lambda's clients (and boto3) at it, with dummy credentials.
    """
    import os

    from sqs_lambda import aws
    from sqs_lambda_dev.engine.moto_server import LOCAL_CREDENTIALS, EmbeddedEngine

    engine = None
    if url is None:
        engine = EmbeddedEngine()
        url = engine.start()
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = url
    aws.reset()
    try:
        yield url
    finally:
        if engine is not None:
            engine.stop()

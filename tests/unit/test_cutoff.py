"""The time cut-off's arithmetic at its edges, and what a batch does with it (issue #20, item 1)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from sqs_lambda import Router
from sqs_lambda.consuming.cutoff import MARGIN_SHARE, TimeCutoff, effective_margin_ms
from sqs_lambda_testing import InMemoryQueue, lambda_context, sqs_event


@pytest.mark.parametrize(
    ("configured", "remaining", "expected"),
    [
        (3_000, 900_000, 3_000),  # a long function keeps the configured margin
        (3_000, 12_000, 3_000),  # exactly a quarter: the configured margin still fits
        (3_000, 11_999, 2_999),  # just under: capped at a quarter
        (3_000, 3_000, 750),  # Lambda's default 3 s timeout: a quarter, not all of it
        (3_000, 1_000, 250),  # Timeout: 1
        (3_000, 0, 0),  # nothing left: no margin (the first record still starts)
        (3_000, -5, 0),  # a clock past its deadline never gives a negative margin
        (0, 60_000, 0),  # margin turned off
    ],
)
def test_margin_is_the_configured_one_capped_at_a_share_of_the_batch(
    configured: int, remaining: int, expected: int
) -> None:
    assert effective_margin_ms(configured, remaining) == expected
    assert effective_margin_ms(configured, remaining) <= max(0, remaining * MARGIN_SHARE)


class Clock:
    """A context whose remaining time the test sets."""

    def __init__(self, remaining_ms: int, stopping: bool = False) -> None:
        self.remaining = remaining_ms
        self.stopping = stopping

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining


def test_the_first_record_always_starts_even_with_no_time_left() -> None:
    clock = Clock(0)
    cutoff = TimeCutoff(clock, 3_000)
    assert cutoff.may_start() is True
    assert cutoff.may_start() is True  # margin 0: records start until the time is gone
    clock.remaining = -1
    assert cutoff.may_start() is False


def test_later_records_stop_below_the_margin() -> None:
    clock = Clock(3_000)  # margin 750
    cutoff = TimeCutoff(clock, 3_000)
    assert cutoff.margin_ms == 750
    assert cutoff.may_start()
    clock.remaining = 750
    assert cutoff.may_start()  # at the margin: still starts
    clock.remaining = 749
    assert not cutoff.may_start()


def test_a_stopping_worker_starts_nothing_and_no_clock_never_cuts_off() -> None:
    assert TimeCutoff(Clock(900_000, stopping=True), 3_000).may_start() is False
    assert all(TimeCutoff(None, 3_000).may_start() for _ in range(3))

    class Broken:
        def get_remaining_time_in_millis(self) -> int:
            raise RuntimeError("no clock")

    cutoff = TimeCutoff(Broken(), 3_000)
    assert cutoff.may_start() and cutoff.may_start()


def run_batch(remaining_ms: int, count: int, sleep: float, caplog: pytest.LogCaptureFixture) -> tuple[list[int], Any]:
    router = Router()
    router.backend = InMemoryQueue()
    ran: list[int] = []

    @router.job()
    def work(n: int) -> None:
        ran.append(n)
        time.sleep(sleep)

    with caplog.at_level(logging.INFO):
        response = router.lambda_handler(
            sqs_event(*[("work", {"n": n}) for n in range(count)]), lambda_context(remaining_ms)
        )
    return ran, response


def test_a_three_second_function_runs_its_records(caplog: pytest.LogCaptureFixture) -> None:
    """Before the fix, a 3 s function with the default 3,000 ms margin started no record at all."""
    ran, response = run_batch(3_000, 10, 0.0, caplog)
    assert ran == list(range(10)) and response == {"batchItemFailures": []}
    ran, response = run_batch(1_000, 10, 0.0, caplog)
    assert ran == list(range(10)) and response == {"batchItemFailures": []}


def test_a_cut_off_is_one_warning_with_its_numbers(caplog: pytest.LogCaptureFixture) -> None:
    ran, response = run_batch(400, 10, 0.12, caplog)  # margin 100 ms: about three records fit
    assert 1 <= len(ran) < 10
    assert len(response["batchItemFailures"]) == 10 - len(ran)
    warnings = [r for r in caplog.records if "time cut-off" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    line = warnings[0].__dict__
    assert line["not_started"] == 10 - len(ran) and line["time_margin_ms"] == 3_000
    assert line["remaining_at_start_ms"] <= 400 and line["margin_ms"] == line["remaining_at_start_ms"] // 4
    assert line["remaining_ms"] < line["margin_ms"]

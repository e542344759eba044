from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

import pytest

from sqs_lambda import Reject, Retry, Router, observe
from sqs_lambda_testing import InMemoryQueue, sqs_event


def emf_blobs(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{") and '"_aws"' in line]


def test_metrics_per_job_when_enabled(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SQS_LAMBDA_METRICS", "true")
    monkeypatch.setenv("SQS_LAMBDA_METRICS_NAMESPACE", "files")
    router = Router()
    router.backend = InMemoryQueue()

    @router.job()
    def work(n: int) -> None:
        if n == 1:
            raise Retry(delay=5)
        if n == 2:
            raise Reject("bad")

    router.lambda_handler(
        sqs_event(("work", {"n": 0}), ("work", {"n": 0}), ("work", {"n": 1}), ("work", {"n": 2})), None
    )
    (blob,) = [b for b in emf_blobs(capsys.readouterr().out) if b.get("job") == "work"]
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "files"
    assert (blob["processed"], blob["failed"], blob["retried"], blob["dead_lettered"]) == ([2.0], [2.0], [1.0], [1.0])
    assert isinstance(blob["duration"], list) and len(blob["duration"]) == 2


def test_no_metrics_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    router = Router()
    router.job("work")(lambda: None)
    router.lambda_handler(sqs_event(("work", {})), None)
    assert emf_blobs(capsys.readouterr().out) == []


def test_handler_log_lines_carry_the_job_fields(caplog: pytest.LogCaptureFixture) -> None:
    app_logger = logging.getLogger("my-app")
    app_logger.addFilter(observe.JobFields())
    router = Router()

    @router.job()
    def work(n: int) -> None:
        app_logger.warning("working on %s", n)

    event = sqs_event(("work", {"n": 7}), receive_count=2)
    event["Records"][0]["body"] = event["Records"][0]["body"].replace(
        '"job"', '"context":{"correlation_id":"corr-1"},"job"'
    )
    with caplog.at_level(logging.WARNING, logger="my-app"):
        router.lambda_handler(event, None)
    (line,) = [r for r in caplog.records if r.name == "my-app"]
    assert (line.job, line.message_id, line.attempt, line.correlation_id) == (  # type: ignore[attr-defined]
        "work",
        event["Records"][0]["messageId"],
        2,
        "corr-1",
    )
    assert observe.job_fields() == {}  # nothing leaks outside the job


def test_tracing_wraps_each_job_in_a_subsegment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SQS_LAMBDA_TRACING", "true")
    opened: list[str] = []

    @contextlib.contextmanager
    def fake_subsegment(job: str) -> Any:
        opened.append(job)
        yield

    monkeypatch.setattr(observe, "trace_subsegment", fake_subsegment)
    router = Router()
    router.job("work")(lambda: None)
    router.lambda_handler(sqs_event(("work", {}), ("work", {})), None)
    assert opened == ["work", "work"]


def test_a_failure_line_carries_its_stack_trace_once_and_bounded(caplog: pytest.LogCaptureFixture) -> None:
    router = Router()
    router.backend = InMemoryQueue()

    def deep(n: int, padding: int = 0) -> None:
        if n == 0:
            raise ValueError("." * padding + "the innermost problem")
        deep(n - 1, padding)

    @router.job()
    def fails(depth: int, padding: int = 0) -> None:
        deep(depth, padding)

    @router.job()
    def rejects() -> None:
        raise Reject("on purpose")

    router.lambda_handler(
        sqs_event(("fails", {"depth": 3}), ("fails", {"depth": 3, "padding": 20_000}), ("rejects", {})), None
    )
    lines = [record.__dict__ for record in caplog.records]
    failed = [line for line in lines if line.get("job") == "fails"]
    assert len(failed) == 2  # logged once each
    short, long = (line["exception"] for line in failed)
    assert short.startswith("Traceback") and "in deep" in short and short.endswith("ValueError: the innermost problem")
    assert (
        len(long) <= 8_000 + 30
        and "in deep" not in long
        and long.startswith("... (traceback cut)")
        and long.endswith("the innermost problem")
    )
    (rejected,) = [line for line in lines if line.get("job") == "rejects"]
    assert "exception" not in rejected  # raised on purpose: its reason is the message

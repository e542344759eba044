"""Structured logs (and, when enabled, metrics) for record outcomes.

One JSON line per failed record, through Powertools' Logger: job, message id, attempt, correlation id,
error type and message, and the fate. Job arguments are not logged unless ``SQS_LAMBDA_LOG_ARGUMENTS``
is ``true``. Metrics (Powertools EMF) are emitted only when ``SQS_LAMBDA_METRICS`` is ``true``, so the
import path stays light by default.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

from .policy import Fate, Verdict

_logger: Any = None
NAMESPACE_VARIABLE = "SQS_LAMBDA_METRICS_NAMESPACE"


def logger() -> Any:
    """The Powertools Logger, built on first use."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME") or "sqs-lambda")
    return _logger


def log_arguments_enabled() -> bool:
    return os.environ.get("SQS_LAMBDA_LOG_ARGUMENTS", "").lower() == "true"


def record_fields(*, job: str | None, message_id: str | None, attempt: int, context: Any = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"job": job, "message_id": message_id, "attempt": attempt}
    if isinstance(context, dict):
        correlation = context.get("correlation_id") or context.get("request_id")
        if correlation:
            fields["correlation_id"] = correlation
    return fields


def log_outcome(
    fate: Fate, *, job: str | None, message_id: str | None, attempt: int, context: Any = None, arguments: Any = None
) -> None:
    """Log a record that did not simply succeed, once, at the level its fate deserves."""
    fields = record_fields(job=job, message_id=message_id, attempt=attempt, context=context)
    fields["fate"] = fate.verdict
    if fate.error is not None:
        fields["error_type"] = type(fate.error).__name__
        fields["error_message"] = str(fate.error)[:2000]
    if fate.visibility is not None:
        fields["retry_in_seconds"] = fate.visibility
    if fate.reason:
        fields["reason"] = fate.reason
    if arguments is not None and log_arguments_enabled():
        fields["arguments"] = arguments
    log = logger()
    if fate.verdict == Verdict.SKIPPED or type(fate.error).__name__ == "Retry":
        log.info("record not processed" if fate.verdict == Verdict.SKIPPED else "retry requested", extra=fields)
    elif fate.verdict == Verdict.DEAD_LETTER:
        log.error("record sent to the dead-letter queue", extra=fields)
    else:
        log.warning("record failed", extra=fields)


def log_loudly(message: str, **fields: Any) -> None:
    """Problems an operator must see (a DLQ send failed, no DLQ configured...)."""
    logger().error(message, extra=fields)


class BatchMetrics:
    """Per-job counts and durations for one batch, flushed as one EMF blob when metrics are on."""

    enabled = os.environ.get("SQS_LAMBDA_METRICS", "").lower() == "true"

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.durations: list[tuple[str, float]] = []

    def count(self, job: str, outcome: str) -> None:
        if self.enabled:
            self.counts[(job, outcome)] += 1

    def duration(self, job: str, milliseconds: float) -> None:
        if self.enabled:
            self.durations.append((job, milliseconds))

    def flush(self) -> None:
        if not self.enabled or not (self.counts or self.durations):
            return
        from aws_lambda_powertools.metrics import MetricUnit, single_metric

        namespace = os.environ.get(NAMESPACE_VARIABLE, "sqs-lambda")
        for (job, outcome), value in self.counts.items():
            with single_metric(name=outcome, unit=MetricUnit.Count, value=value, namespace=namespace) as m:
                m.add_dimension(name="job", value=job)
        for job, milliseconds in self.durations:
            with single_metric(
                name="duration", unit=MetricUnit.Milliseconds, value=milliseconds, namespace=namespace
            ) as m:
                m.add_dimension(name="job", value=job)

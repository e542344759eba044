"""Structured logs (and, when enabled, metrics) for record outcomes.

One JSON line per failed record, through Powertools' Logger: job, message id, attempt, correlation id,
error type and message, the fate, and for an unexpected exception its stack trace (``exception``, at most
8,000 characters). Job arguments are not logged unless ``SQS_LAMBDA_LOG_ARGUMENTS``
is ``true``. :class:`JobFields` stamps the same fields on the lines handlers log. Metrics (Powertools
EMF, ``SQS_LAMBDA_METRICS=true``) and tracing (Powertools Tracer, ``SQS_LAMBDA_TRACING=true``) are
off by default and imported only when on, so the cold-start path stays light.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from . import settings
from .consuming.policy import Fate, Verdict
from .errors import MessageError, Reject, Retry

_logger: Any = None
NAMESPACE_VARIABLE = settings.METRICS_NAMESPACE


def logger() -> Any:
    """The Powertools Logger, built on first use."""
    global _logger
    if _logger is None:
        from aws_lambda_powertools import Logger

        _logger = Logger(service=settings.current().service_name)
    return _logger


def log_arguments_enabled() -> bool:
    return settings.current().log_arguments


def record_fields(
    *, job: str | None, message_id: str | None, attempt: int, context: Any = None, envelope_id: str | None = None
) -> dict[str, Any]:
    fields: dict[str, Any] = {"job": job, "message_id": message_id, "attempt": attempt}
    if envelope_id:  # the job's lineage: the job inspector's timelines find its lines by it
        fields["envelope_id"] = envelope_id
    if isinstance(context, dict):
        correlation = context.get("correlation_id") or context.get("request_id")
        if correlation:
            fields["correlation_id"] = correlation
    return fields


OutcomeListener = Callable[[str, "str | None", "str | None"], None]  # (verdict, job, message id)
_listeners: list[OutcomeListener] = []


@contextmanager
def outcomes_heard(listener: OutcomeListener) -> Iterator[None]:
    """Call ``listener(verdict, job, message_id)`` for each record that did not simply succeed (a
    ``dead_letter`` verdict only once its DLQ copy landed), while the block runs. The test kit counts
    dead letters with it; a success costs nothing."""
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def log_outcome(
    fate: Fate,
    *,
    job: str | None,
    message_id: str | None,
    attempt: int,
    context: Any = None,
    arguments: Any = None,
    envelope_id: str | None = None,
) -> None:
    """Log a record that did not simply succeed, once, at the level its fate deserves."""
    for listener in _listeners:
        listener(fate.verdict, job, message_id)
    fields = record_fields(job=job, message_id=message_id, attempt=attempt, context=context, envelope_id=envelope_id)
    fields["fate"] = fate.verdict
    if fate.error is not None:
        fields["error_type"] = type(fate.error).__name__
        fields["error_message"] = str(fate.error)[:2000]
        if fate.error.__traceback__ is not None and not isinstance(fate.error, EXPECTED_ERRORS):
            fields["exception"] = bounded_traceback(fate.error)
    if fate.visibility is not None:
        fields["retry_in_seconds"] = fate.visibility
    if fate.reason:
        fields["reason"] = fate.reason
    if arguments is not None and log_arguments_enabled():
        fields["arguments"] = arguments
    log = logger()
    if fate.verdict == Verdict.SKIPPED or isinstance(fate.error, Retry):
        log.info("record not processed" if fate.verdict == Verdict.SKIPPED else "retry requested", extra=fields)
    elif fate.verdict == Verdict.DEAD_LETTER:
        log.error("record sent to the dead-letter queue", extra=fields)
    else:
        log.warning("record failed", extra=fields)


MAX_TRACEBACK_CHARS = 8_000  # a CloudWatch event holds 256 KB; a deep stack must not crowd the line out
EXPECTED_ERRORS = (Retry, Reject, MessageError)  # raised on purpose, or about the message: no stack to read


def bounded_traceback(error: BaseException) -> str:
    """The error's stack trace (Powertools' ``exception`` field), its last part when it is long: the
    innermost frames and the message are what one reads."""
    import traceback

    text = "".join(traceback.format_exception(error)).rstrip()
    if len(text) <= MAX_TRACEBACK_CHARS:
        return text
    return "... (traceback cut)\n" + text[-MAX_TRACEBACK_CHARS:]


def log_info(message: str, **fields: Any) -> None:
    """Worth a line, not an alarm (a duplicate delivery skipped)."""
    logger().info(message, extra=fields)


def log_warning(message: str, **fields: Any) -> None:
    """Something went wrong that the batch survived (a time cut-off)."""
    logger().warning(message, extra=fields)


def log_loudly(message: str, **fields: Any) -> None:
    """Problems an operator must see (a DLQ send failed, no DLQ configured...)."""
    logger().error(message, extra=fields)


class BatchMetrics:
    """Per-job counts and durations for one batch, flushed as one EMF blob per job when metrics are on.

    Metrics (namespace ``$SQS_LAMBDA_METRICS_NAMESPACE``, dimension ``job``): ``processed``, ``failed``,
    ``retried``, ``dead_lettered`` (counts) and ``duration`` (milliseconds).
    """

    def __init__(self) -> None:
        self.enabled = settings.current().metrics
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
        from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

        namespace = settings.current().metrics_namespace
        jobs = {job for job, _ in self.counts} | {job for job, _ in self.durations}
        for job in sorted(jobs):
            metrics = EphemeralMetrics(namespace=namespace)
            metrics.add_dimension(name="job", value=job)
            for (name, outcome), value in self.counts.items():
                if name == job:
                    metrics.add_metric(name=outcome, unit=MetricUnit.Count, value=value)
            for name, milliseconds in self.durations:
                if name == job:
                    metrics.add_metric(name="duration", unit=MetricUnit.Milliseconds, value=milliseconds)
            metrics.flush_metrics()


# -- the job running now, for log lines written by handlers ------------------------------------------

_running: ContextVar[tuple[str, Any, Any, Any] | None] = ContextVar("sqs_lambda_running_job", default=None)
RUNNING = _running  # set by sqs_lambda.consuming.invoke around every job (directly: it is on the per-record path)


def job_fields() -> dict[str, Any]:
    """job, message_id, attempt, correlation_id (and envelope_id) of the job running now ({} outside a job)."""
    current = _running.get()
    if current is None:
        return {}
    from .wire.records import message_id, receive_count

    job, record, context, envelope = current
    return record_fields(
        job=job,
        message_id=message_id(record),
        attempt=receive_count(record),
        context=context,
        envelope_id=envelope.id if envelope is not None else None,
    )


class JobFields(logging.Filter):
    """A logging filter that stamps every record with the running job's fields.

    ``logger.addFilter(JobFields())`` on a Powertools Logger (or any logger): each line a handler logs
    then carries job, message_id, attempt and correlation_id.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in job_fields().items():
            setattr(record, key, value)
        return True


# -- tracing (optional) ------------------------------------------------------------------------------

_tracer: Any = None


def tracing_enabled() -> bool:
    return settings.current().tracing


def trace_subsegment(job: str) -> Any:
    """A Powertools Tracer subsegment around one job (``SQS_LAMBDA_TRACING=true``; needs aws-xray-sdk)."""
    global _tracer
    if _tracer is None:
        from aws_lambda_powertools import Tracer

        _tracer = Tracer(service=settings.current().service_name)
    return _tracer.provider.in_subsegment(f"## job {job}")

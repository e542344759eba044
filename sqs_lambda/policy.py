"""The failure policy: what happens to a record whose handler did not succeed.

:func:`decide` is the one place that turns an error and an attempt number into a :class:`Fate`:

- ``RETRY``: report the record as failed; its next visibility timeout comes from the backoff policy
  (or ``Retry(delay=...)``), so it returns after that delay.
- ``DEAD_LETTER``: non-retryable (``Reject``, undecodable, unknown job, bad arguments) or out of retries:
  copy it to the DLQ now with the reason attached, then report it as a success so Lambda deletes it.
  If the copy fails, the caller downgrades it to ``RETRY`` without backoff: it is never lost.
- ``SKIPPED``: never started (time cut-off, or after a FIFO failure): failed, no backoff, no attempt counted.
"""

from __future__ import annotations

import datetime as _dt
import enum
from dataclasses import dataclass, field
from typing import Literal

from . import backoff as _backoff
from .errors import Reject, Retry, UnknownJobError

UnknownJobFate = Literal["reject", "retry"]


class Verdict(enum.Enum):
    DONE = "done"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class JobPolicy:
    """Retry settings for one job (the router's defaults fill what a job leaves out).

    ``max_retries=N`` lets a job run at most N + 1 times (one attempt plus N retries), as in Celery.
    None leaves the limit to the queue's redrive policy (``maxReceiveCount``).
    """

    max_retries: int | None = None
    backoff: _backoff.BackoffPolicy = field(default_factory=_backoff.exponential)
    unknown_job: UnknownJobFate = "reject"

    def __post_init__(self) -> None:
        if self.max_retries is not None and self.max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {self.max_retries}")
        if self.unknown_job not in ("reject", "retry"):
            raise ValueError(f"unknown_job must be 'reject' or 'retry', got {self.unknown_job!r}")


@dataclass(slots=True)
class Fate:
    verdict: Verdict
    error: BaseException | None = None
    visibility: int | None = None  # RETRY: the next visibility timeout; None keeps the queue's
    reason: str = ""

    @property
    def reported_failed(self) -> bool:
        """Whether the record goes into ``batchItemFailures``."""
        return self.verdict in (Verdict.RETRY, Verdict.SKIPPED)


DONE = Fate(Verdict.DONE)


def is_retryable(error: BaseException, policy: JobPolicy) -> bool:
    if isinstance(error, Retry):
        return True
    if isinstance(error, UnknownJobError):
        return policy.unknown_job == "retry"
    if isinstance(error, Reject):
        return False
    return bool(getattr(error, "retryable", True))


def decide(error: BaseException, attempt: int, policy: JobPolicy) -> Fate:
    """The fate of a record whose handler raised ``error`` on delivery number ``attempt``."""
    if not is_retryable(error, policy):
        return Fate(Verdict.DEAD_LETTER, error, reason="non-retryable")
    if policy.max_retries is not None and attempt > policy.max_retries:
        return Fate(Verdict.DEAD_LETTER, error, reason=f"gave up after {attempt} attempts")
    if isinstance(error, Retry) and error.delay is not None:
        return Fate(Verdict.RETRY, error, visibility=error.delay)
    return Fate(Verdict.RETRY, error, visibility=_backoff.delay_for(policy.backoff, attempt))


def skipped(reason: str) -> Fate:
    return Fate(Verdict.SKIPPED, reason=reason)


def failure_reason(error: BaseException | None, *, attempts: int, source_queue: str, job: str | None,
                   why: str, max_message: int = 512) -> dict[str, str]:
    """The reason a DLQ copy carries, as the values of its ``failure.*`` attributes."""
    message = str(error) if error is not None else why
    if len(message) > max_message:
        message = message[: max_message - 1] + "…"
    return {
        "error_type": type(error).__name__ if error is not None else "Unknown",
        "error_message": message or why,
        "attempts": str(attempts),
        "source_queue": source_queue,
        "job": job or "-",
        "failed_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decision": why,
    }

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

from collections.abc import Callable
from typing import Any, Literal

from ..errors import Reject, Retry, UnknownJobError
from . import backoff as _backoff

UnknownJobFate = Literal["reject", "retry"]


class Verdict:
    """The four fates (plain strings: no Enum class to build at import time)."""

    DONE = "done"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"
    SKIPPED = "skipped"


class Idempotency:
    """An effectively-once job: at most one run per key (see :mod:`sqs_lambda.consuming.idempotency`).

    ``key`` is a callable over the job's arguments (those it names; all of them if it takes
    ``**kwargs``); None keys by the envelope id. ``expires_after`` (seconds) is how long a key is
    remembered; None: the queue's retention period.
    """

    __slots__ = ("expires_after", "key", "key_arguments")

    def __init__(self, key: Callable[..., Any] | None = None, expires_after: int | None = None) -> None:
        if expires_after is not None and expires_after <= 0:
            raise ValueError(f"expires_after must be a positive number of seconds, got {expires_after}")
        self.key, self.expires_after = key, expires_after
        self.key_arguments: tuple[str, ...] | None = None  # None: every argument
        if key is not None:
            import inspect

            parameters = inspect.signature(key).parameters.values()
            if not any(p.kind is p.VAR_KEYWORD for p in parameters):
                self.key_arguments = tuple(p.name for p in parameters)

    def key_of(self, kwargs: dict[str, Any]) -> Any:
        if self.key is None:
            return None
        names = self.key_arguments
        return self.key(**(kwargs if names is None else {n: kwargs[n] for n in names if n in kwargs}))

    def __repr__(self) -> str:
        return f"Idempotency(key={self.key!r}, expires_after={self.expires_after!r})"


class JobPolicy:
    """Retry settings for one job (the router's defaults fill what a job leaves out).

    ``max_retries=N`` lets a job run at most N + 1 times (one attempt plus N retries), as in Celery.
    None leaves the limit to the queue's redrive policy (``maxReceiveCount``). ``max_age=S`` (seconds)
    stops retrying a job first sent more than S seconds ago, as dramatiq's age limit does: its next
    failure sends it to the DLQ. ``idempotency`` makes the job effectively once.
    """

    __slots__ = ("backoff", "idempotency", "max_age", "max_retries", "unknown_job")

    def __init__(
        self,
        max_retries: int | None = None,
        backoff: _backoff.BackoffPolicy | None = None,
        unknown_job: UnknownJobFate = "reject",
        idempotency: Idempotency | None = None,
        max_age: float | None = None,
    ) -> None:
        if max_retries is not None and max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if max_age is not None and max_age <= 0:
            raise ValueError(f"max_age must be a positive number of seconds, got {max_age}")
        self.max_age = max_age
        if unknown_job not in ("reject", "retry"):
            raise ValueError(f"unknown_job must be 'reject' or 'retry', got {unknown_job!r}")
        self.max_retries = max_retries
        self.backoff: _backoff.BackoffPolicy = backoff if backoff is not None else _backoff.exponential()
        self.unknown_job: UnknownJobFate = unknown_job
        self.idempotency = idempotency

    def __repr__(self) -> str:
        return (
            f"JobPolicy(max_retries={self.max_retries!r}, backoff={self.backoff!r}, unknown_job={self.unknown_job!r}, "
            f"max_age={self.max_age!r}"
            + (f", idempotency={self.idempotency!r})" if self.idempotency is not None else ")")
        )


class Fate:
    """A record's outcome. ``reported_failed``: it goes into ``batchItemFailures``."""

    __slots__ = ("error", "reason", "reported_failed", "verdict", "visibility")

    def __init__(
        self, verdict: str, error: BaseException | None = None, visibility: int | None = None, reason: str = ""
    ) -> None:
        self.verdict = verdict
        self.error = error
        self.visibility = visibility  # the next visibility timeout; None keeps the queue's
        self.reason = reason
        self.reported_failed = verdict == Verdict.RETRY or verdict == Verdict.SKIPPED

    def __repr__(self) -> str:
        return f"Fate({self.verdict!r}, error={self.error!r}, visibility={self.visibility!r})"


DONE = Fate(Verdict.DONE)


def is_retryable(error: BaseException, policy: JobPolicy) -> bool:
    if isinstance(error, Retry):
        return True
    if isinstance(error, UnknownJobError):
        return policy.unknown_job == "retry"
    if isinstance(error, Reject):
        return False
    return bool(getattr(error, "retryable", True))


class Attempt:
    """What the failure policy knows of a failed record: its delivery number (SQS's
    ``ApproximateReceiveCount``) and its age (seconds since its job was first sent; None if unknown)."""

    __slots__ = ("age", "number")

    def __init__(self, number: int, age: float | None = None) -> None:
        self.number, self.age = number, age


def decide(error: BaseException, attempt: int | Attempt, policy: JobPolicy) -> Fate:
    """The fate of a record whose handler raised ``error`` on ``attempt`` (its number, or an
    :class:`Attempt` with its age too)."""
    if not isinstance(attempt, Attempt):
        attempt = Attempt(attempt)
    if not is_retryable(error, policy):
        return Fate(Verdict.DEAD_LETTER, error, reason="non-retryable")
    if policy.max_retries is not None and attempt.number > policy.max_retries:
        return Fate(Verdict.DEAD_LETTER, error, reason=f"gave up after {attempt.number} attempts")
    if policy.max_age is not None and attempt.age is not None and attempt.age > policy.max_age:
        return Fate(
            Verdict.DEAD_LETTER, error, reason=f"older than max_age ({attempt.age:.0f} s > {policy.max_age:g} s)"
        )
    if isinstance(error, Retry) and error.delay is not None:
        return Fate(Verdict.RETRY, error, visibility=error.delay)
    return Fate(Verdict.RETRY, error, visibility=_backoff.delay_for(policy.backoff, attempt.number))


def skipped(reason: str, visibility: int | None = None) -> Fate:
    """Never started: failed without backoff (``visibility`` only to keep a FIFO group together)."""
    return Fate(Verdict.SKIPPED, visibility=visibility, reason=reason)

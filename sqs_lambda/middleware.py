"""Middleware: code that runs around each job a router invokes (the extension point, as in dramatiq).

``Router(middleware=[...])`` or ``router.add_middleware(m)``. A middleware subclasses
:class:`Middleware` and overrides what it needs. Contract:

- ``before_job(run)`` runs once per invoked record, just before its job, with the job's context current.
  If it raises, the job does not run and the error is the job's: the failure policy decides (retry,
  or the DLQ with the reason). Middleware run in the order given.
- ``after_job(run, outcome, error)`` runs once per invoked record when its fate is settled:
  ``succeeded``, ``retried`` (reported in ``batchItemFailures``, with its backoff) or ``dead_lettered``
  (its DLQ copy with the reason has landed). ``run.returned`` holds what the job returned. An error
  raised here is logged and changes nothing: the record's fate is already decided. Middleware run in
  reverse order.
- Records that never reach a job (undecodable, unknown jobs, not due yet, cut off by the time limit,
  skipped after a FIFO failure) see no middleware.
- A router without middleware pays nothing: the per-record path does not change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .call import Call

Outcome = Literal["succeeded", "retried", "dead_lettered"]


class JobRun:
    """One invocation of one job: the call (job name, arguments, envelope), its SQS record, the delivery
    number, the invocation's context (Lambda's, or the worker's), what the job returned, and a ``state``
    dict a middleware may keep things in between its two hooks."""

    __slots__ = ("attempt", "call", "invocation", "record", "returned", "state")

    def __init__(self, call: Call, record: Any, attempt: int, invocation: Any) -> None:
        self.call, self.record, self.attempt, self.invocation = call, record, attempt, invocation
        self.returned: Any = None
        self.state: dict[str, Any] = {}

    @property
    def job(self) -> str:
        return self.call.name

    @property
    def envelope_id(self) -> str | None:
        """The job's identity, kept across retries, delay hops, the DLQ and redrives."""
        envelope = self.call.envelope
        return envelope.id if envelope is not None else None

    @property
    def message_id(self) -> str | None:
        return self.record.get("messageId") if isinstance(self.record, dict) else None

    @property
    def request_id(self) -> str | None:
        """The invocation's request id (Lambda's ``aws_request_id``; worker mode makes one per batch)."""
        return getattr(self.invocation, "aws_request_id", None)

    @property
    def worker_id(self) -> str | None:
        """Who ran it: in worker mode the worker's own id, else the invocation's request id."""
        return getattr(self.invocation, "worker_id", None) or self.request_id


class Middleware:
    """Override either hook; both do nothing here."""

    def before_job(self, run: JobRun) -> None:
        """Just before the job runs (see the module docstring)."""

    def after_job(self, run: JobRun, outcome: Outcome, error: BaseException | None) -> None:
        """Once the record's fate is settled (see the module docstring)."""


def run_before(middleware: tuple[Middleware, ...], run: JobRun) -> None:
    for each in middleware:
        each.before_job(run)


def run_after(
    middleware: tuple[Middleware, ...], run: JobRun, outcome: Outcome, error: BaseException | None = None
) -> None:
    """Every middleware's ``after_job``; one that raises is logged and the others still run."""
    for each in reversed(middleware):
        try:
            each.after_job(run, outcome, error)
        except Exception as failure:
            from . import observe

            observe.log_loudly(
                f"middleware {type(each).__name__}.after_job failed for job {run.job!r}: {failure!r}",
                message_id=run.message_id,
                envelope_id=run.envelope_id,
            )

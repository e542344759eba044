"""Where task results are kept: what a store does, and the record it keeps (one per task, by its id).

A store is chosen by ``OPTIONS["results"]``: ``"dynamodb"`` (:mod:`.dynamodb`, the table named by
``SQS_LAMBDA_TASK_RESULTS_TABLE``), ``"database"`` (:mod:`.database`, a model of the app) or ``None``
(no results: ``get_result`` is not supported). The writes, in a task's life:

- ``create``: READY, before its message is sent (so a consumer never finds it missing);
- ``started``: RUNNING, an attempt's worker id appended, ``started_at`` kept from the first attempt; the
  record as it now is comes back (one call);
- ``succeeded``: SUCCESSFUL with the return value; ``failed``: the attempt's error appended, and READY
  again (a retry follows) or FAILED (it went to the DLQ).

A write that fails raises; the consumer's middleware decides what that means (see :mod:`.running`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any, Protocol


@dataclass
class StoredResult:
    """A task's record, as a store keeps it (JSON-friendly; times are aware datetimes)."""

    id: str
    task_path: str
    backend: str
    queue_name: str
    status: str
    args: list[Any]
    kwargs: dict[str, Any]
    enqueued_at: dt.datetime | None = None
    started_at: dt.datetime | None = None
    last_attempted_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    worker_ids: list[str] = field(default_factory=list)
    return_value: Any = None
    errors: list[dict[str, str]] = field(default_factory=list)

    def started(self, worker_id: str, at: dt.datetime) -> StoredResult:
        """This record after an attempt starts (what ``started`` writes)."""
        return replace(
            self,
            status="RUNNING",
            started_at=self.started_at or at,
            last_attempted_at=at,
            worker_ids=[*self.worker_ids, worker_id],
        )


def error_record(error: Any) -> dict[str, str]:
    """A stored error: Django's ``TaskError`` as JSON (its traceback is already bounded: ``api.task_error``)."""
    return {"exception_class_path": error.exception_class_path, "traceback": error.traceback}


class ResultStore(Protocol):
    """See the module docstring."""

    def create(self, result: StoredResult) -> None: ...
    def started(self, result: StoredResult, worker_id: str, at: dt.datetime) -> StoredResult: ...
    def succeeded(self, result_id: str, at: dt.datetime, return_value: Any) -> None: ...
    def failed(self, result_id: str, at: dt.datetime, error: dict[str, str], *, final: bool) -> None: ...
    def get(self, result_id: str) -> StoredResult | None: ...
    def delete(self, result_id: str) -> None: ...
    def problems(self) -> list[str]:
        """What is wrong with the store as configured (for Django's system checks); [] when fine."""
        ...

"""Task results in DynamoDB: one item per task, keyed by ``id`` (the envelope id), expired by TTL.

The table (the template makes it) has the partition key ``id`` (String) and TTL on ``expires_at``. JSON
values (arguments, the return value) are kept as JSON text, so numbers come back as they went. Each
write is one call: ``PutItem`` for a new task, ``UpdateItem`` for the rest (``started`` returns the item as
it now is). Grants the consumer needs: ``dynamodb:UpdateItem``; the producer: ``PutItem``, ``DeleteItem``;
``get_result``: ``GetItem``.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from .... import settings
from ....errors import ConfigurationError
from .results import StoredResult


def _time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _text(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class DynamoDbResults:
    """The ``"dynamodb"`` store (see :mod:`.results`)."""

    def __init__(self, table: str | None = None, *, aws: Any = None, retention_days: int = 14) -> None:
        self._table_name = table
        self._aws = aws
        self.retention_seconds = retention_days * 86_400

    @property
    def table_name(self) -> str:
        name = self._table_name or settings.current().task_results_table
        if not name:
            raise ConfigurationError(
                f"django.tasks results: set {settings.TASK_RESULTS_TABLE} (the results table's name)"
            )
        return name

    @property
    def table(self) -> Any:
        from ....aws import clients

        config = self._aws or clients.DEFAULT
        return clients.resource("dynamodb", config=config).Table(self.table_name)

    def create(self, result: StoredResult) -> None:
        self.table.put_item(Item=self._item(result))

    def started(self, result: StoredResult, worker_id: str, at: dt.datetime) -> StoredResult:
        """RUNNING, with this attempt; a record that is missing (sent by another producer, or expired) is
        made from ``result``."""
        item = self._item(result)
        answer = self.table.update_item(
            Key={"id": result.id},
            UpdateExpression=(
                "SET #status = :running, started_at = if_not_exists(started_at, :at), last_attempted_at = :at, "
                "worker_ids = list_append(if_not_exists(worker_ids, :none), :worker), "
                "task_path = if_not_exists(task_path, :task), backend = if_not_exists(backend, :backend), "
                "queue_name = if_not_exists(queue_name, :queue), args = if_not_exists(args, :args), "
                "kwargs = if_not_exists(kwargs, :kwargs), enqueued_at = if_not_exists(enqueued_at, :enqueued), "
                "errors = if_not_exists(errors, :none), expires_at = :expires"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":running": "RUNNING",
                ":at": at.isoformat(),
                ":none": [],
                ":worker": [worker_id],
                ":task": item["task_path"],
                ":backend": item["backend"],
                ":queue": item["queue_name"],
                ":args": item["args"],
                ":kwargs": item["kwargs"],
                ":enqueued": item.get("enqueued_at") or at.isoformat(),
                ":expires": item["expires_at"],
            },
            ReturnValues="ALL_NEW",
        )
        return self._result(answer["Attributes"])

    def succeeded(self, result_id: str, at: dt.datetime, return_value: Any) -> None:
        self.table.update_item(
            Key={"id": result_id},
            UpdateExpression="SET #status = :done, finished_at = :at, return_value = :value",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":done": "SUCCESSFUL",
                ":at": at.isoformat(),
                ":value": json.dumps(return_value),
            },
        )

    def failed(self, result_id: str, at: dt.datetime, error: dict[str, str], *, final: bool) -> None:
        values: dict[str, Any] = {":status": "FAILED" if final else "READY", ":error": [error], ":none": []}
        expression = "SET #status = :status, errors = list_append(if_not_exists(errors, :none), :error)"
        if final:
            expression += ", finished_at = :at"
            values[":at"] = at.isoformat()
        self.table.update_item(
            Key={"id": result_id},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def get(self, result_id: str) -> StoredResult | None:
        item = self.table.get_item(Key={"id": result_id}, ConsistentRead=True).get("Item")
        return self._result(item) if item else None

    def delete(self, result_id: str) -> None:
        self.table.delete_item(Key={"id": result_id})

    def problems(self) -> list[str]:
        try:
            name = self.table_name
        except ConfigurationError as error:
            return [str(error)]
        try:
            self.table.get_item(Key={"id": "sqs-lambda-check"})
        except Exception as error:  # botocore's ClientError, or no endpoint
            from ....aws.clients import error_code

            code = error_code(error)
            if code == "ResourceNotFoundException":
                return [f"the results table {name!r} does not exist"]
            if code == "AccessDeniedException":
                return [f"no dynamodb:GetItem grant on the results table {name!r}"]
            return [f"the results table {name!r} cannot be read ({code or type(error).__name__})"]
        return []

    # -- items ----------------------------------------------------------------------------------------

    def _item(self, result: StoredResult) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": result.id,
            "task_path": result.task_path,
            "backend": result.backend,
            "queue_name": result.queue_name,
            "status": result.status,
            "args": json.dumps(result.args),
            "kwargs": json.dumps(result.kwargs),
            "worker_ids": list(result.worker_ids),
            "errors": list(result.errors),
            "expires_at": int(time.time()) + self.retention_seconds,
        }
        for name in ("enqueued_at", "started_at", "last_attempted_at", "finished_at"):
            value = _text(getattr(result, name))
            if value is not None:
                item[name] = value
        return item

    @staticmethod
    def _result(item: dict[str, Any]) -> StoredResult:
        return StoredResult(
            id=str(item["id"]),
            task_path=str(item.get("task_path", "")),
            backend=str(item.get("backend", "default")),
            queue_name=str(item.get("queue_name", "default")),
            status=str(item.get("status", "READY")),
            args=json.loads(item.get("args") or "[]"),
            kwargs=json.loads(item.get("kwargs") or "{}"),
            enqueued_at=_time(item.get("enqueued_at")),
            started_at=_time(item.get("started_at")),
            last_attempted_at=_time(item.get("last_attempted_at")),
            finished_at=_time(item.get("finished_at")),
            worker_ids=[str(w) for w in item.get("worker_ids") or []],
            return_value=json.loads(item["return_value"]) if "return_value" in item else None,
            errors=[{k: str(v) for k, v in e.items()} for e in item.get("errors") or []],
        )

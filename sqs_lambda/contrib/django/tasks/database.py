"""Task results in the project's database: the app's ``TaskResultRecord`` model (run ``migrate``).

Each write is one transaction; ``started`` locks the row (``select_for_update``) so two attempts of the
same task never lose each other's worker id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from .results import StoredResult


class DatabaseResults:
    """The ``"database"`` store (see :mod:`.results`)."""

    @property
    def model(self) -> Any:
        from ..models import TaskResultRecord

        return TaskResultRecord

    def create(self, result: StoredResult) -> None:
        self.model.objects.create(**asdict(result))

    def started(self, result: StoredResult, worker_id: str, at: dt.datetime) -> StoredResult:
        from django.db import transaction

        with transaction.atomic():
            row = self.model.objects.select_for_update().filter(pk=result.id).first()
            current = self._result(row) if row is not None else result
            now = current.started(worker_id, at)
            if current.enqueued_at is None:
                now.enqueued_at = at
            self.model.objects.update_or_create(
                pk=result.id, defaults={k: v for k, v in asdict(now).items() if k != "id"}
            )
        return now

    def succeeded(self, result_id: str, at: dt.datetime, return_value: Any) -> None:
        self.model.objects.filter(pk=result_id).update(status="SUCCESSFUL", finished_at=at, return_value=return_value)

    def failed(self, result_id: str, at: dt.datetime, error: dict[str, str], *, final: bool) -> None:
        from django.db import transaction

        with transaction.atomic():
            row = self.model.objects.select_for_update().filter(pk=result_id).first()
            if row is None:
                return
            row.errors = [*row.errors, error]
            row.status = "FAILED" if final else "READY"
            if final:
                row.finished_at = at
            row.save(update_fields=["errors", "status", "finished_at"])

    def get(self, result_id: str) -> StoredResult | None:
        row = self.model.objects.filter(pk=result_id).first()
        return self._result(row) if row is not None else None

    def delete(self, result_id: str) -> None:
        self.model.objects.filter(pk=result_id).delete()

    def problems(self) -> list[str]:
        from django.apps import apps

        if not apps.is_installed("sqs_lambda.contrib.django"):
            return ['results "database" needs "sqs_lambda.contrib.django" in INSTALLED_APPS (and migrate)']
        return []

    @staticmethod
    def _result(row: Any) -> StoredResult:
        return StoredResult(**{name: getattr(row, name) for name in StoredResult.__dataclass_fields__})

"""The app's one model: django.tasks results, for ``OPTIONS["results"] = "database"`` (see
:mod:`sqs_lambda.contrib.django.tasks.database`). Other uses of the app never touch its table."""

from __future__ import annotations

from django.db import models


class TaskResultRecord(models.Model):
    """One task's result, by its id (the envelope id)."""

    id = models.CharField(primary_key=True, max_length=64)
    task_path = models.CharField(max_length=255)
    backend = models.CharField(max_length=100)
    queue_name = models.CharField(max_length=100)
    status = models.CharField(max_length=10, db_index=True)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    enqueued_at = models.DateTimeField(null=True)
    started_at = models.DateTimeField(null=True)
    last_attempted_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    worker_ids = models.JSONField(default=list)
    return_value = models.JSONField(null=True)
    errors = models.JSONField(default=list)

    class Meta:
        app_label = "sqs_lambda"
        verbose_name = "task result"

    def __str__(self) -> str:
        return f"{self.task_path} {self.id} {self.status}"

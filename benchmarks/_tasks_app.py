"""The tasks ``benchmarks/task_layer.py`` measures (a module of their own: Django's tasks are module-level)."""

from __future__ import annotations

from typing import Any

from sqs_lambda.contrib.django.tasks import api

task: Any = api._root.task


@task
def add_none(a: int, b: int) -> int:
    return a + b


@task(backend="database")
def add_database(a: int, b: int) -> int:
    return a + b


@task(backend="dynamodb")
def add_dynamodb(a: int, b: int) -> int:
    return a + b

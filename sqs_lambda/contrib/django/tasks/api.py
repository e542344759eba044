"""Django's task API, from where it lives: ``django.tasks`` (Django >= 6.0), else the ``django_tasks``
backport (Django 4.2-5.2). The rest of the package imports it from here, so one code base serves both."""

from __future__ import annotations

import importlib
from typing import Any


def _source() -> str:
    """Where the API lives. Its modules are imported by name: the two are alike, not the same types."""
    for package in ("django.tasks", "django_tasks"):  # Django >= 6.0, then the backport
        try:
            importlib.import_module(package)
        except ImportError:
            continue
        return package
    raise ImportError("django.tasks needs Django >= 6.0, or the django-tasks backport (pip install django-tasks)")


SOURCE = _source()
_root, _base, _backends, _exceptions, _signals = (
    importlib.import_module(f"{SOURCE}{part}") for part in ("", ".base", ".backends.base", ".exceptions", ".signals")
)
_json = importlib.import_module("django.utils.json" if SOURCE == "django.tasks" else "django_tasks.utils")
Task: Any = _base.Task
TaskContext: Any = _base.TaskContext
TaskError: Any = _base.TaskError
TaskResult: Any = _base.TaskResult
TaskResultStatus: Any = _base.TaskResultStatus
BaseTaskBackend: Any = _backends.BaseTaskBackend
task_backends: Any = _root.task_backends
task_enqueued: Any = _signals.task_enqueued
task_started: Any = _signals.task_started
task_finished: Any = _signals.task_finished
# Django 6 names it InvalidTask; the backport, InvalidTaskError.
InvalidTask: type[Exception] = getattr(_exceptions, "InvalidTask", None) or _exceptions.InvalidTaskError
TaskResultDoesNotExist: type[Exception] = _exceptions.TaskResultDoesNotExist


normalize_json: Any = _json.normalize_json  # Django's rule for arguments and return values: JSON types only

__all__ = [
    "SOURCE",
    "BaseTaskBackend",
    "InvalidTask",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "normalize_json",
    "task_backends",
    "task_enqueued",
    "task_error",
    "task_finished",
    "task_started",
]


def task_error(error: BaseException) -> Any:
    """Django's record of one failed attempt: the exception's class path and its traceback (bounded as the
    router's log lines bound it: one per attempt must not fill a 400 KB DynamoDB item)."""
    from ....observe import bounded_traceback

    kind = type(error)
    return TaskError(exception_class_path=f"{kind.__module__}.{kind.__qualname__}", traceback=bounded_traceback(error))

"""A task as a router job: the task's parameters (without ``context``) and type hints, so the router
validates a message's arguments as it does any job's; the task is called through Django's
``Task.call``/``acall``, with a ``TaskContext`` (the attempt's ``TaskResult``, set by the results
middleware in :mod:`.running`) when it takes one. A return value that is not JSON is a ``Reject``: running
the task again would not help."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from ....errors import Reject
from .api import TaskContext, normalize_json

RUNNING: ContextVar[Any] = ContextVar("sqs_lambda_task_result", default=None)  # the TaskResult of the attempt


def job_function(task: Any) -> Callable[..., Any]:
    """The job that runs ``task``: the task's parameters (without ``context``) and type hints, so the
    router validates a message's arguments as it does a job's."""
    signature = inspect.signature(task.func)
    parameters = list(signature.parameters.values())
    if task.takes_context:
        parameters = parameters[1:]
    try:
        hints = typing.get_type_hints(task.func)
    except Exception:  # an unresolvable forward reference: the arguments are then checked as JSON only
        hints = {}
    names = {parameter.name for parameter in parameters}
    path = task.module_path

    if inspect.iscoroutinefunction(task.func):

        async def run_async(**kwargs: Any) -> Any:
            if task.takes_context:
                return _json(path, await task.acall(TaskContext(task_result=RUNNING.get()), **kwargs))
            return _json(path, await task.acall(**kwargs))

        job: Callable[..., Any] = run_async
    else:

        def run(**kwargs: Any) -> Any:
            if task.takes_context:
                return _json(path, task.call(TaskContext(task_result=RUNNING.get()), **kwargs))
            return _json(path, task.call(**kwargs))

        job = run
    job.__signature__ = signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)  # type: ignore[attr-defined]  # read by inspect.signature
    job.__annotations__ = {name: hint for name, hint in hints.items() if name in names}
    job.__name__ = job.__qualname__ = task.func.__name__
    job.__module__ = task.func.__module__
    return job


def _json(path: str, value: Any) -> Any:
    try:
        return normalize_json(value)
    except (TypeError, ValueError) as error:
        raise Reject(f"task {path}: its return value is not JSON ({error})") from error

"""``SQSLambdaBackend``: Django's task backend whose tasks travel through SQS and run in Lambda.

Contract (see the README's Django section):

- ``enqueue``/``aenqueue`` check the task as Django does and the arguments against the function's
  signature and type hints (``JobArgumentError``, a ``TypeError``, and nothing is sent), keep a READY
  record in the results store, send one envelope through the project's producer (the job is the task's
  module path, the arguments travel by name), send ``task_enqueued`` and return the READY ``TaskResult``;
  its id is the envelope id. ``run_after`` becomes the delay (over 15 minutes: the producer's hops).
- Tasks are run by :mod:`.running` (the Lambda handler, worker mode, ``sqs-lambda local``).
- ``get_result``/``aget_result`` read the store; an unknown id raises ``TaskResultDoesNotExist``.
- Arguments travel by name, so a task cannot take ``*args`` or positional-only parameters, and a
  parameter named ``context`` is Django's ``TaskContext`` only (``takes_context=True``).
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterable
from functools import cached_property
from typing import Any

from ....errors import ConfigurationError, JobArgumentError
from .api import (
    BaseTaskBackend,
    InvalidTask,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    normalize_json,
    task_enqueued,
)
from .discovery import known_tasks
from .jobs import job_function
from .results import ResultStore, StoredResult


class SQSLambdaBackend(BaseTaskBackend):
    supports_defer = True
    supports_async_task = True
    supports_priority = False

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        options: dict[str, Any] = dict(self.options)
        self.queue_map: dict[str, str] = dict(options.get("queues") or {})
        self.stage: str | None = options.get("stage")
        self.modules: tuple[str, ...] = tuple(options.get("modules") or ())
        self.max_retries: int = int(options.get("max_retries", 3))
        self.group_id: Any = options.get("group_id")  # a string, or a callable over the job's context
        self.results_kind = options.get("results")
        self.supports_get_result = self.results_kind is not None
        self.worker_id = uuid.uuid4().hex  # worker mode's id; in Lambda each attempt has its request id
        self._producers: dict[str, Any] = {}

    # -- configuration --------------------------------------------------------------------------------

    @cached_property
    def aws(self) -> Any:
        from ..conf import settings

        return settings().aws

    @cached_property
    def store(self) -> ResultStore | None:
        return store_for(self.results_kind, dict(self.options), self.aws)

    @cached_property
    def jobs(self) -> Any:
        """A router holding this backend's tasks as jobs, so the producer validates their arguments."""
        from ....router import Router

        return Router()

    def sqs_queue(self, queue_name: str) -> str:
        """The SQS queue (name or URL) a task queue maps to."""
        try:
            return self.queue_map[queue_name]
        except KeyError:
            raise InvalidTask(
                f"task queue {queue_name!r} has no SQS queue: add it to TASKS[{self.alias!r}]['OPTIONS']['queues']"
            ) from None

    def producer(self, queue_name: str) -> Any:
        producer = self._producers.get(queue_name)
        if producer is None:
            from ....aws.sqs import AwsSqs
            from ....producing.producer import Producer
            from ....producing.queues import QueueRef
            from ..conf import settings

            reference = QueueRef.parse(
                self.sqs_queue(queue_name), self.stage if self.stage is not None else settings().stage
            )
            producer = self._producers[queue_name] = Producer(
                queue_url=reference.url,
                queue_name=reference.name,
                stage=reference.stage,
                router=self.jobs,
                backend=AwsSqs(config=self.aws),
                default_group_id=self.group_id,
            )
        return producer

    def known(self) -> dict[str, Any]:
        """The tasks this backend's consumers run, by module path (see :mod:`.discovery`)."""
        return {path: task for path, task in known_tasks(self.modules).items() if task.backend == self.alias}

    # -- Django's API -----------------------------------------------------------------------------------

    def validate_task(self, task: Any) -> None:
        super().validate_task(task)
        parameters = list(inspect.signature(task.func).parameters.values())
        if task.takes_context:
            parameters = parameters[1:]
        for parameter in parameters:
            if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.POSITIONAL_ONLY):
                raise InvalidTask(
                    f"task {task.module_path}: parameter {parameter.name!r} cannot be passed by name "
                    "(SQSLambdaBackend sends arguments by name: no *args or positional-only parameters)"
                )
            if parameter.name == "context":
                raise InvalidTask(f"task {task.module_path}: a parameter named 'context' needs takes_context=True")

    def enqueue(self, task: Any, args: Iterable[Any], kwargs: dict[str, Any]) -> Any:
        from django.utils import timezone

        self.validate_task(task)
        path = task.module_path
        if path not in self.known():
            raise InvalidTask(
                f"task {path} is not in a tasks module, so no consumer would run it: define it in an app's "
                f"tasks.py, or add its module to TASKS[{self.alias!r}]['OPTIONS']['modules']"
            )
        json_args: list[Any] = normalize_json(list(args))  # Django's rule: JSON only
        json_kwargs: dict[str, Any] = normalize_json(dict(kwargs))
        producer = self.producer(task.queue_name)
        if path not in self.jobs.jobs:
            self.jobs.job(path)(job_function(task))
        now = timezone.now()
        delay = None
        if task.run_after is not None:
            delay = max(0.0, (task.run_after - now).total_seconds()) or None
        message = producer.build(path, self.named(task, json_args, json_kwargs), delay=delay)
        stored = StoredResult(
            id=message.envelope_id,
            task_path=path,
            backend=self.alias,
            queue_name=task.queue_name,
            status="READY",
            args=json_args,
            kwargs=json_kwargs,
            enqueued_at=now,
        )
        if self.store is not None:  # first, so a consumer never finds it missing
            self.store.create(stored)
        try:
            producer.send_messages([message])
        except BaseException:
            if self.store is not None:
                self.store.delete(stored.id)
            raise
        result = self.task_result(stored, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> Any:
        if self.store is None:
            return super().get_result(result_id)  # Django's "not supported"
        stored = self.store.get(result_id)
        if stored is None:
            raise TaskResultDoesNotExist(result_id)
        task = self.known().get(stored.task_path)
        if task is None:
            raise TaskResultDoesNotExist(f"{result_id}: its task {stored.task_path} is not a known task")
        return self.task_result(stored, task)

    def check(self, **kwargs: Any) -> Iterable[Any]:
        from .checks import backend_checks

        yield from backend_checks(self, deploy=bool(kwargs.get("deploy")))

    # -- records --------------------------------------------------------------------------------------

    @staticmethod
    def named(task: Any, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The arguments by name, bound as the function would bind them (a mismatch raises now)."""
        signature = inspect.signature(task.func)
        if task.takes_context:
            signature = signature.replace(parameters=list(signature.parameters.values())[1:])
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            raise JobArgumentError(f"invalid arguments: {error}", job=task.module_path) from None
        named = dict(bound.arguments)
        for parameter in signature.parameters.values():  # **kwargs arrive by their own names
            if parameter.kind is inspect.Parameter.VAR_KEYWORD and parameter.name in named:
                named.update(named.pop(parameter.name))
        return named

    def task_result(self, stored: StoredResult, task: Any) -> Any:
        """Django's ``TaskResult`` for a stored record."""
        result = TaskResult(
            task=task,
            id=stored.id,
            status=TaskResultStatus(stored.status),
            enqueued_at=stored.enqueued_at,
            started_at=stored.started_at,
            finished_at=stored.finished_at,
            last_attempted_at=stored.last_attempted_at,
            args=stored.args,
            kwargs=stored.kwargs,
            backend=self.alias,
            errors=[TaskError(**error) for error in stored.errors],
            worker_ids=list(stored.worker_ids),
        )
        object.__setattr__(result, "_return_value", stored.return_value)  # Django's own backends do this
        return result


def store_for(kind: Any, options: dict[str, Any], aws: Any) -> ResultStore | None:
    """The store ``OPTIONS["results"]`` names (see the module docstring)."""
    if kind is None:
        return None
    if kind == "dynamodb":
        from .dynamodb import DynamoDbResults

        return DynamoDbResults(options.get("table"), aws=aws, retention_days=int(options.get("result_days", 14)))
    if kind == "database":
        from .database import DatabaseResults

        return DatabaseResults()
    raise ConfigurationError(f'TASKS OPTIONS["results"] must be "dynamodb", "database" or None, got {kind!r}')

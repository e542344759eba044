"""Running enqueued tasks: each known task is a job of a router, and one middleware keeps its results.

Contract:
- :func:`task_router` is the project's router (``SQS_LAMBDA["ROUTER"]``, else a new one) with every
  known task (:mod:`.discovery`) registered as a job named by its module path, each with its backend's
  ``max_retries``. So the router's whole failure policy, partial batch responses, FIFO rules, S3
  pointers and the time cut-off apply to tasks. A message naming anything else is an unknown job (DLQ).
- :class:`TaskResults` (middleware): before an attempt, the record becomes RUNNING with this attempt's
  worker id (Lambda's request id; in worker mode, the worker's id) and ``task_started`` is sent; after
  it, SUCCESSFUL with the return value, READY with the attempt's error (a retry follows), or FAILED with
  it (the record went to the DLQ); ``task_finished`` is sent for SUCCESSFUL and FAILED, not for a retry.
  A failed results write before the attempt fails the attempt (it is retried); after it, it is logged.
- The task is called through Django's ``Task.call``/``acall``, with a ``TaskContext`` when it takes one;
  its ``attempt`` is the number of attempts the record counts (the receive count, when nothing else).
- A return value that is not JSON fails the task at once (FAILED, DLQ): running it again would not help.
"""

from __future__ import annotations

from typing import Any

from ....middleware import JobRun, Middleware, Outcome
from .api import task_error, task_finished, task_started
from .jobs import RUNNING, job_function
from .results import StoredResult, error_record


class TaskResults(Middleware):
    """Keeps each task's record and sends Django's signals (see the module docstring)."""

    def __init__(self, tasks: dict[str, Any]) -> None:
        self.tasks = tasks
        self.backends = {path: task.get_backend() for path, task in tasks.items()}  # looked up once

    def before_job(self, run: JobRun) -> None:
        task = self.tasks.get(run.job)
        if task is None:
            return  # one of the router's own jobs
        from django.utils import timezone

        backend = self.backends[run.job]
        envelope = run.call.envelope
        at = timezone.now()
        worker = run.worker_id or backend.worker_id
        fallback = StoredResult(
            id=run.envelope_id or run.message_id or "",
            task_path=run.job,
            backend=backend.alias,
            queue_name=task.queue_name,
            status="READY",
            args=[],
            kwargs=dict(envelope.kwargs) if envelope is not None and isinstance(envelope.kwargs, dict) else {},
            worker_ids=[worker] * (run.attempt - 1),  # without a store, the receive count tells the attempt
        )
        store = backend.store
        stored = store.started(fallback, worker, at) if store is not None else fallback.started(worker, at)
        result = backend.task_result(stored, task)
        run.state["task_result"] = result
        RUNNING.set(result)
        task_started.send(type(backend), task_result=result)

    def after_job(self, run: JobRun, outcome: Outcome, error: BaseException | None) -> None:
        result = run.state.get("task_result")
        if result is None:
            return
        RUNNING.set(None)
        from django.utils import timezone

        backend = self.backends[run.job]
        at = timezone.now()
        final = outcome != "retried"
        if outcome == "succeeded":
            status, value = "SUCCESSFUL", run.returned
            if backend.store is not None:
                backend.store.succeeded(result.id, at, value)
            object.__setattr__(result, "_return_value", value)
        else:
            status = "FAILED" if final else "READY"
            failure = task_error(error if error is not None else RuntimeError("unknown failure"))
            if backend.store is not None:
                backend.store.failed(result.id, at, error_record(failure), final=final)
            result.errors.append(failure)
        object.__setattr__(result, "status", status)
        if final:
            object.__setattr__(result, "finished_at", at)
            task_finished.send(type(backend), task_result=result)


def task_router(router: Any = None) -> Any:
    """The router that runs the known tasks of every ``SQSLambdaBackend`` (see the module docstring)."""
    from ....router import Router
    from ..conf import settings
    from .api import task_backends
    from .backend import SQSLambdaBackend

    if router is None:
        configured = settings()
        router = configured.router() if configured.router_path else Router()
    if any(isinstance(each, TaskResults) for each in router.middleware):
        return router  # already set up (the handler and a worker in one process)
    tasks: dict[str, Any] = {}
    for backend in task_backends.all():
        if isinstance(backend, SQSLambdaBackend):
            tasks.update(backend.known())
    for path, task in tasks.items():
        if path not in router.jobs:
            router.job(path, max_retries=task.get_backend().max_retries)(job_function(task))
    router.add_middleware(TaskResults(tasks))
    return router

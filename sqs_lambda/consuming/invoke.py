"""Running a job: the one place where a call's target is called, awaited and caught.

Every path that runs a job goes through :func:`invoke` (a coroutine): the standard-queue batch gathers
it for ``async def`` jobs, and :func:`invoke_now` drives it from synchronous code (FIFO batches,
synchronous jobs, direct invocations, ``Job.run``), without an event loop unless the job needs one.

Contract:
- While the job runs, its envelope's context is current and its fields (job, message id, attempt) are
  set for the log lines it writes; a trace subsegment and its duration are recorded when enabled.
- Whatever the target returns that is awaitable is awaited: a job is never "called but not run".
- An ``Exception`` from the job (or from starting its event loop) is returned, never raised; ``None``
  means the job ran to success.
- An idempotent job (``idempotent=True``) runs through :mod:`sqs_lambda.consuming.idempotency` (loaded then):
  at most once per key; a duplicate of a completed run succeeds without running.
- Given a :class:`~sqs_lambda.middleware.JobRun` (the router has middleware), each middleware's
  ``before_job`` runs first (an error there is the job's) and ``run.returned`` gets what the job returned.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from .. import observe
from ..context import CURRENT, running_with
from ..middleware import run_before
from ..observe import RUNNING

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend
    from ..call import Call
    from ..middleware import JobRun, Middleware


class Hooks:
    """What is observed around each job (durations and success counts for metrics, trace subsegments),
    and the batch's SQS port (``port()``, resolved only when a job needs it: an idempotent job reads its
    queue's retention)."""

    __slots__ = ("metrics", "middleware", "observed", "port", "tracing")

    def __init__(
        self,
        metrics: observe.BatchMetrics | None = None,
        tracing: bool = False,
        port: Callable[[], SqsBackend] | None = None,
        middleware: tuple[Middleware, ...] = (),
    ) -> None:
        self.metrics = metrics if metrics is not None and metrics.enabled else None
        self.tracing = tracing
        self.middleware = middleware
        self.observed = self.metrics is not None or tracing or bool(middleware)
        self.port = port


NO_HOOKS = Hooks()
T = TypeVar("T")


async def invoke(
    call: Call, record: Any = None, hooks: Hooks = NO_HOOKS, *, in_loop: bool = True, run: JobRun | None = None
) -> Exception | None:
    """Run ``call`` once (see the module docstring).

    ``in_loop=False``: no event loop runs here, so nothing is awaited on the caller's loop: an awaitable
    result runs in a loop of its own, and the coroutine finishes without suspending (see :func:`drive`).
    """
    token = RUNNING.set((call.name, record, call.context, call.envelope))  # the job's fields, for the lines it logs
    metrics = hooks.metrics
    started = time.perf_counter() if metrics is not None else 0.0
    policy = call.policy
    try:
        if policy is not None and policy.idempotency is not None:
            with running_with(call.context), _traced(call.name, hooks):
                if run is not None:
                    run_before(hooks.middleware, run)
                await _once(call, record, in_loop, hooks.port)
        elif hooks.observed or call.context or CURRENT.get():
            with running_with(call.context), _traced(call.name, hooks):
                if run is not None:
                    run_before(hooks.middleware, run)
                result = call.target(*call.args, **call.kwargs)
                if result is not None and inspect.isawaitable(result):
                    result = await _completed(result, in_loop)
                if run is not None:
                    run.returned = result
        else:  # the common case, kept cheap: no context to install, nothing to observe
            result = call.target(*call.args, **call.kwargs)
            if result is not None and inspect.isawaitable(result):
                await _completed(result, in_loop)
    except Exception as error:
        return error
    finally:
        RUNNING.reset(token)
    if metrics is not None:
        metrics.duration(call.name, (time.perf_counter() - started) * 1000)
        metrics.count(call.name, "processed")
    return None


def invoke_now(call: Call, record: Any = None, hooks: Hooks = NO_HOOKS) -> Exception | None:
    """Run ``call`` from synchronous code; an ``async def`` job gets an event loop of its own."""
    if call.is_async:
        running = invoke(call, record, hooks)
        try:
            import asyncio  # only an async job run from sync code pays for it

            return asyncio.run(running)
        except Exception as error:  # no loop could start (e.g. one already runs here): the job did not run
            running.close()
            return error
    return drive(invoke(call, record, hooks, in_loop=False))


def drive(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends to its end, without an event loop (cheaper than a loop).

    The batch loop is such a coroutine: it awaits :func:`invoke` with ``in_loop=False`` record by record.
    """
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    coroutine.close()
    raise RuntimeError("a coroutine suspended outside an event loop")


async def _once(call: Call, record: Any, in_loop: bool, port: Callable[[], SqsBackend] | None) -> None:
    from . import idempotency  # only when an idempotent job runs

    if in_loop and call.is_async:
        await idempotency.run_once_async(call, record, port)
    else:
        idempotency.run_once(call, record, port)


async def _completed(result: Awaitable[Any], in_loop: bool) -> Any:
    """Await what a job returned; outside a loop (a sync function returning a coroutine), in a new one."""
    if in_loop:
        return await result
    try:
        import asyncio

        return asyncio.run(_awaiting(result))
    except BaseException:
        if isinstance(result, Coroutine):
            result.close()  # never started: do not leave it to warn "never awaited"
        raise


async def _awaiting(result: Awaitable[Any]) -> Any:
    return await result


class _traced:
    """A trace subsegment around the job when tracing is on (a class: no generator per call)."""

    __slots__ = ("hooks", "name", "segment")

    def __init__(self, name: str, hooks: Hooks) -> None:
        self.name, self.hooks = name, hooks
        self.segment: Any = None

    def __enter__(self) -> None:
        if self.hooks.tracing:
            self.segment = observe.trace_subsegment(self.name)
            self.segment.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.segment is not None:
            self.segment.__exit__(*exc)

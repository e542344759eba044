"""Job proxies: what ``@router.job()`` returns.

A job is not called directly (that would silently skip the queue): ``.run()`` runs it in-process,
``.delay()``/``.apply_async()`` enqueue it, ``.bake()`` freezes arguments for later. Arguments are
validated against the handler's signature before anything runs or is sent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from . import envelope as wire
from .context import current_context
from .policy import JobPolicy
from .schema import ArgumentSchema, build_schema

if TYPE_CHECKING:
    from .router import Router


class Job:
    """A registered job. ``name`` is its wire name; ``function`` the handler."""

    def __init__(self, name: str, function: Callable[..., Any], router: Router, policy: JobPolicy) -> None:
        self.name = name
        self.function = function
        self.router = router
        self.policy = policy
        self._schema: ArgumentSchema | None = None
        functools.update_wrapper(self, function)

    @property
    def schema(self) -> ArgumentSchema:
        """The argument schema, built on first use (keeps imports cheap)."""
        if self._schema is None:
            self._schema = build_schema(self.name, self.function)
        return self._schema

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"job {self.name!r} is not called directly: use {self.name}.run(...) to run it now, "
            f"in this process, or {self.name}.delay(...) to enqueue it"
        )

    def __repr__(self) -> str:
        return f"<Job {self.name!r}>"

    def validate(self, kwargs: Mapping[str, Any] | msgspec.Raw) -> dict[str, Any]:
        """Check ``kwargs`` (or their encoding) as a consumer would; raise JobArgumentError (a TypeError)."""
        schema = self.schema
        return schema.as_kwargs(wire.convert_arguments(self.name, kwargs, schema.decoder))

    def run(self, **kwargs: Any) -> Any:
        """Run the job synchronously in this process, with the same validation as a consumer."""
        from .invoke import invoke_now
        from .router import Call

        call_kwargs = self.validate(kwargs)
        context = dict(current_context())
        if self.schema.wants_context:
            call_kwargs["context"] = context
        outcome: list[Any] = []

        def target() -> Any:
            result = self.function(**call_kwargs)
            if self.schema.is_async:
                return _keep(result, outcome)
            outcome.append(result)
            return None

        error = invoke_now(Call(self.name, target, context=context, is_async=self.schema.is_async))
        if error is not None:
            raise error
        return outcome[0] if outcome else None

    def delay(self, **kwargs: Any) -> str:
        """Enqueue the job on the router's queue; returns the SQS MessageId."""
        return self.router.producer.send(self.name, **kwargs)

    def apply_async(
        self,
        kwargs: Mapping[str, Any] | None = None,
        *,
        delay: float | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        """Enqueue with options (Celery's spelling): a delay in seconds and FIFO ids."""
        return self.router.producer.send(
            self.name, delay=delay, group_id=group_id, deduplication_id=deduplication_id, **dict(kwargs or {})
        )

    def bake(self, **kwargs: Any) -> BakedJob:
        """Freeze validated arguments into a task that can be sent later."""
        self.validate(kwargs)
        return BakedJob(self, dict(kwargs))


class BakedJob:
    """A job with its arguments: ``.delay()`` sends it, ``.run()`` runs it now."""

    def __init__(self, job: Job, kwargs: dict[str, Any]) -> None:
        self.job = job
        self.kwargs = kwargs

    def delay(self, **options: Any) -> str:
        return self.job.apply_async(self.kwargs, **options)

    def run(self) -> Any:
        return self.job.run(**self.kwargs)

    def __repr__(self) -> str:
        return f"<BakedJob {self.job.name!r} ({', '.join(self.kwargs)})>"


async def _keep(awaitable: Any, outcome: list[Any]) -> None:
    outcome.append(await awaitable)

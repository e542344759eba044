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

from .consuming.policy import JobPolicy
from .context import current_context
from .schema import ArgumentSchema, build_schema
from .settings import QUEUE_NAME as QUEUE_NAME_VARIABLE  # noqa: F401  # 0.2's names, still importable
from .settings import QUEUE_URL as QUEUE_URL_VARIABLE  # noqa: F401
from .wire import envelope as wire

if TYPE_CHECKING:
    from .producing.producer import KnowsJobs, Producer


class SenderSlot:
    """Where a router's jobs go on ``.delay()``: the producer bound with ``Router.bind``, else one built
    on first use from the router's queue settings or, in Lambda, the environment the template sets."""

    __slots__ = ("_producer", "queue_name", "queue_url", "registry", "stage")

    def __init__(
        self,
        registry: KnowsJobs,
        *,
        queue_url: str | None = None,
        queue_name: str | None = None,
        stage: str | None = None,
    ) -> None:
        self.registry = registry  # the producer validates arguments against these jobs
        self.queue_url, self.queue_name, self.stage = queue_url, queue_name, stage
        self._producer: Producer | None = None

    def get(self) -> Producer:
        if self._producer is None:
            from . import settings
            from .errors import ConfigurationError
            from .producing.producer import Producer

            settings.expire()
            environment = settings.current()
            url = self.queue_url or environment.queue_url
            name = self.queue_name or environment.queue_name
            if not url and not name:
                raise ConfigurationError(
                    "this router is not bound to a queue: pass Router(queue_url=...) or set "
                    f"{settings.QUEUE_URL} (the template sets it in Lambda)"
                )
            self._producer = Producer(
                queue_url=url, queue_name=None if url else name, stage=self.stage, router=self.registry
            )
        return self._producer

    def bind(self, producer: Producer | None) -> None:
        self._producer = producer


class Job:
    """A registered job. ``name`` is its wire name; ``function`` the handler."""

    def __init__(self, name: str, function: Callable[..., Any], policy: JobPolicy, sender: SenderSlot) -> None:
        self.name = name
        self.function = function
        self.policy = policy
        self.sender = sender
        self.explicit: dict[str, Any] = {}  # the options the job set itself (not its router's defaults)
        functools.update_wrapper(self, function)

    @functools.cached_property
    def schema(self) -> ArgumentSchema:
        """The argument schema, built on first use (keeps imports cheap), then a plain attribute."""
        return build_schema(self.name, self.function)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"job {self.name!r} is not called directly: use {self.name}.run(...) to run it now, "
            f"in this process, or {self.name}.delay(...) to enqueue it"
        )

    def __repr__(self) -> str:
        return f"<Job {self.name!r}>"

    def validate(self, kwargs: Mapping[str, Any] | msgspec.Raw) -> dict[str, Any]:
        """Check ``kwargs`` (or their encoding) as a consumer would; raise JobArgumentError (a TypeError)."""
        return self.schema.as_kwargs(self._checked(kwargs))

    def _checked(self, kwargs: Mapping[str, Any] | msgspec.Raw) -> Any:
        """The validated arguments (what the consumer's decoder would produce)."""
        schema = self.schema
        if schema.models and not isinstance(kwargs, msgspec.Raw):
            kwargs = schema.to_wire(kwargs, self.name)
        return wire.convert_arguments(self.name, kwargs, schema.decoder)

    def run(self, **kwargs: Any) -> Any:
        """Run the job synchronously in this process, with the same validation as a consumer."""
        from .call import Call
        from .consuming.invoke import invoke_now

        context = dict(current_context())
        call_kwargs = self.schema.bind(self._checked(kwargs), context, self.name)
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
        return self.sender.get().send(self.name, **kwargs)

    def apply_async(
        self,
        kwargs: Mapping[str, Any] | None = None,
        *,
        delay: float | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
    ) -> str:
        """Enqueue with options (Celery's spelling): a delay in seconds and FIFO ids."""
        return self.sender.get().send(
            self.name, delay=delay, group_id=group_id, deduplication_id=deduplication_id, **dict(kwargs or {})
        )

    def delay_on_commit(self, **kwargs: Any) -> None:
        """Enqueue after the current Django transaction commits, and nothing if it rolls back (as
        Celery >= 5.4 does). The arguments are checked now, so a mistake raises here."""
        from django.db import transaction  # Django's own hook; only this method needs Django

        transaction.on_commit(self.bake(**kwargs).delay)

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

"""What a router knows how to run: jobs by name, and raw routes for bodies that are not envelopes.

Registration only; nothing here decodes a message (:mod:`sqs_lambda.consuming.dispatch` does) or sends one (the
jobs' :class:`~sqs_lambda.jobs.SenderSlot` does).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .consuming import backoff as _backoff
from .consuming.policy import Idempotency, JobPolicy
from .errors import ConfigurationError
from .jobs import Job, SenderSlot


class RawRoute:
    """A handler for bodies that are not envelopes, with what it matches."""

    __slots__ = ("detail_type", "handler", "is_async", "match", "name", "source", "text")

    def __init__(
        self,
        handler: Callable[..., Any],
        name: str,
        source: str | None = None,
        detail_type: str | None = None,
        match: Callable[[Any], bool] | None = None,
        text: bool = False,
        is_async: bool = False,
    ) -> None:
        self.handler, self.name, self.source, self.detail_type = handler, name, source, detail_type
        self.match, self.text, self.is_async = match, text, is_async

    def matches(self, value: Any, is_json: bool) -> bool:
        if not is_json and not self.text:
            return False
        if self.source is not None or self.detail_type is not None:
            if not isinstance(value, dict):
                return False
            if self.source is not None and value.get("source") != self.source:
                return False
            if self.detail_type is not None and value.get("detail-type") != self.detail_type:
                return False
        return self.match is None or bool(self.match(value))


class Registry:
    """Jobs (each with its failure policy, the router's defaults filling the gaps) and raw routes."""

    __slots__ = ("default_policy", "jobs", "raw_routes", "sender")

    def __init__(
        self,
        default_policy: JobPolicy,
        *,
        queue_url: str | None = None,
        queue_name: str | None = None,
        stage: str | None = None,
    ) -> None:
        self.default_policy = default_policy
        self.jobs: dict[str, Job] = {}
        self.raw_routes: list[RawRoute] = []
        # the one place the jobs' ``.delay()`` sends (the queue settings are its fallback)
        self.sender = SenderSlot(self, queue_url=queue_url, queue_name=queue_name, stage=stage)

    def job(
        self,
        name: str | None = None,
        *,
        max_retries: int | None = None,
        backoff: _backoff.BackoffPolicy | None = None,
        idempotent: bool = False,
        idempotency_key: Callable[..., Any] | None = None,
        expires_after: int | None = None,
        max_age: float | None = None,
    ) -> Callable[[Callable[..., Any]], Job]:
        """Register a job handler under ``name`` (default: the function's name). ``idempotent=True``
        runs it at most once per key (the envelope id, or ``idempotency_key(...)`` over its arguments),
        remembered for ``expires_after`` seconds (default: the queue's retention)."""
        if not idempotent and (idempotency_key is not None or expires_after is not None):
            raise ConfigurationError("idempotency_key and expires_after need idempotent=True")

        def register(function: Callable[..., Any]) -> Job:
            job_name = name or function.__name__
            if job_name in self.jobs:
                raise ConfigurationError(f"job {job_name!r} is already registered")
            defaults = self.default_policy
            policy = JobPolicy(
                max_retries=max_retries if max_retries is not None else defaults.max_retries,
                backoff=backoff if backoff is not None else defaults.backoff,
                unknown_job=defaults.unknown_job,
                idempotency=Idempotency(idempotency_key, expires_after) if idempotent else None,
                max_age=max_age if max_age is not None else defaults.max_age,
            )
            proxy = Job(job_name, function, policy, self.sender)
            # what the job set itself, re-applied over another router's defaults by include_router
            proxy.explicit = {"max_retries": max_retries, "backoff": backoff, "max_age": max_age}
            self.jobs[job_name] = proxy
            return proxy

        return register

    def include(self, other: Registry, prefix: str = "") -> None:
        """Take over ``other``'s jobs (named ``prefix.name``) and raw routes (after this one's). The jobs
        get this registry's defaults where they set none, and send through this registry's sender."""
        renamed = {f"{prefix}.{name}" if prefix else name: job for name, job in other.jobs.items()}
        clashes = sorted(set(renamed) & set(self.jobs))
        if clashes:
            raise ConfigurationError(f"include_router: job {clashes[0]!r} is already registered here")
        defaults = self.default_policy
        for name, job in renamed.items():
            explicit = job.explicit
            job.name, job.sender = name, self.sender
            job.__dict__.pop("schema", None)  # built again on first use, with the new name in its errors
            job.policy = JobPolicy(
                max_retries=explicit["max_retries"] if explicit["max_retries"] is not None else defaults.max_retries,
                backoff=explicit["backoff"] if explicit["backoff"] is not None else defaults.backoff,
                unknown_job=defaults.unknown_job,
                idempotency=job.policy.idempotency,
                max_age=explicit["max_age"] if explicit["max_age"] is not None else defaults.max_age,
            )
            self.jobs[name] = job
        other.jobs = {}
        self.raw_routes.extend(other.raw_routes)

    def raw(
        self,
        *,
        source: str | None = None,
        detail_type: str | None = None,
        match: Callable[[Any], bool] | None = None,
        text: bool = False,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Register a handler for non-envelope bodies. Routes are tried in registration order.

        ``source``/``detail_type`` match EventBridge events, ``match`` is a predicate on the parsed
        body, and no criteria is a catch-all. ``text=True`` also accepts bodies that are not JSON.
        """

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            import inspect

            name = getattr(function, "__name__", "raw")
            is_async = inspect.iscoroutinefunction(function)
            self.raw_routes.append(RawRoute(function, name, source, detail_type, match, text, is_async))
            return function

        return register

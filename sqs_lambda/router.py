"""The Router: jobs registered by name, raw routes for foreign messages, and job proxies.

``router.lambda_handler(event, context)`` is the Lambda entry point (see :mod:`sqs_lambda.batch`).
``router.prepare(record)`` turns one SQS record into a :class:`Call` (decoded, routed, validated) or
raises a :class:`MessageError` that says why it cannot be called. Nothing here imports boto3.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import backoff as _backoff
from . import envelope as wire
from .errors import ConfigurationError, NoRouteError, PickleRejectedError, UnknownJobError
from .jobs import BakedJob, Job
from .policy import JobPolicy, UnknownJobFate

if TYPE_CHECKING:
    from .producer import Producer
    from .sqs import SqsBackend

QUEUE_URL_VARIABLE = "SQS_LAMBDA_QUEUE_URL"
QUEUE_NAME_VARIABLE = "SQS_LAMBDA_QUEUE_NAME"
Format = Literal["sqs_lambda", "sqs_workers", "celery", "django_eb_sqs"]

__all__ = ["BakedJob", "Call", "Job", "RawRoute", "Router"]


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


class Call:
    """A record made ready to run: the target, its arguments, and what the policy needs to know."""

    __slots__ = ("args", "context", "envelope", "is_async", "kwargs", "name", "policy", "target")

    def __init__(
        self,
        name: str,
        target: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        context: Mapping[str, Any] | None = None,
        is_async: bool = False,
        policy: JobPolicy | None = None,
        envelope: wire.Envelope | None = None,
    ) -> None:
        self.name, self.target, self.args = name, target, args
        self.kwargs = kwargs if kwargs is not None else {}
        self.context, self.is_async, self.policy, self.envelope = context, is_async, policy, envelope


class Router:
    """Registers jobs and raw routes; routes SQS records to them.

    Settings (all optional):
    - ``queue_url`` / ``queue_name``: the queue that ``.delay()`` sends to. Default: the
      ``SQS_LAMBDA_QUEUE_URL`` / ``SQS_LAMBDA_QUEUE_NAME`` environment variables (set by the template).
    - ``default_max_retries``, ``default_backoff``: the failure policy of jobs that do not set their own.
    - ``unknown_job``: ``"reject"`` (default, to the DLQ) or ``"retry"`` an envelope naming no job.
    - ``raise_on_entire_batch_failure``: raise instead of returning every id when all records fail.
    - ``fifo_skip_group_on_error``: on FIFO queues, after a failure skip only that message group.
    - ``time_margin_ms``: stop starting records when less than this much Lambda time remains.
    - ``max_concurrency``: how many ``async def`` jobs run at once within a batch.
    - ``accept``: the wire formats this router consumes (see :mod:`sqs_lambda.peers`).
    - ``aliases``: django-eb-sqs dotted paths (or Celery task names) mapped to job names.
    - ``signing_key``: a key, a list of keys, or a loader; unsigned or forged envelopes are rejected.
    """

    def __init__(
        self,
        *,
        queue_url: str | None = None,
        queue_name: str | None = None,
        default_max_retries: int | None = None,
        default_backoff: _backoff.BackoffPolicy | None = None,
        unknown_job: UnknownJobFate = "reject",
        raise_on_entire_batch_failure: bool = False,
        fifo_skip_group_on_error: bool = False,
        time_margin_ms: int = 3_000,
        max_concurrency: int = 10,
        accept: Sequence[Format] = ("sqs_lambda",),
        aliases: Mapping[str, str] | None = None,
        signing_key: Any = None,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        if time_margin_ms < 0:
            raise ConfigurationError("time_margin_ms must be >= 0")
        unsupported = set(accept) - {"sqs_lambda", "sqs_workers", "celery", "django_eb_sqs"}
        if unsupported:
            raise ConfigurationError(f"unknown formats in accept: {sorted(unsupported)}")
        self.queue_url = queue_url
        self.queue_name = queue_name
        self.default_policy = JobPolicy(
            max_retries=default_max_retries,
            backoff=default_backoff if default_backoff is not None else _backoff.exponential(),
            unknown_job=unknown_job,
        )
        self.raise_on_entire_batch_failure = raise_on_entire_batch_failure
        self.fifo_skip_group_on_error = fifo_skip_group_on_error
        self.time_margin_ms = time_margin_ms
        self.max_concurrency = max_concurrency
        self.accept = tuple(accept)
        self._plain = self.accept == ("sqs_lambda",)  # only our envelope: the fast path
        self.aliases = dict(aliases or {})
        self.signing_key = signing_key
        self.jobs: dict[str, Job] = {}
        self.raw_routes: list[RawRoute] = []
        self._producer: Producer | None = None
        self._backend: SqsBackend | None = None

    # -- registration -------------------------------------------------------------------------------

    def job(
        self, name: str | None = None, *, max_retries: int | None = None, backoff: _backoff.BackoffPolicy | None = None
    ) -> Callable[[Callable[..., Any]], Job]:
        """Register a job handler under ``name`` (default: the function's name)."""

        def register(function: Callable[..., Any]) -> Job:
            job_name = name or function.__name__
            if job_name in self.jobs:
                raise ConfigurationError(f"job {job_name!r} is already registered")
            policy = JobPolicy(
                max_retries=max_retries if max_retries is not None else self.default_policy.max_retries,
                backoff=backoff if backoff is not None else self.default_policy.backoff,
                unknown_job=self.default_policy.unknown_job,
            )
            proxy = Job(job_name, function, self, policy)
            self.jobs[job_name] = proxy
            return proxy

        return register

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

            self.raw_routes.append(
                RawRoute(
                    function,
                    getattr(function, "__name__", "raw"),
                    source,
                    detail_type,
                    match,
                    text,
                    inspect.iscoroutinefunction(function),
                )
            )
            return function

        return register

    # -- consuming ----------------------------------------------------------------------------------

    def prepare(self, record: Mapping[str, Any], message_id: str | None = None) -> Call:
        """Decode, route and validate one SQS record. Raises MessageError with the reason."""
        if self._plain:
            decoded = wire.decode(record.get("body"), message_id=message_id)
        else:
            from . import peers

            found = peers.decode_any(self.accept, record, message_id)
            if isinstance(found, peers.ForeignJob):
                job = self.jobs.get(self.aliases.get(found.job, found.job))
                positional = job.schema.positional if job is not None else ()
                envelope = peers.to_envelope(found, positional, self.aliases, list(self.jobs), message_id)
                return self.call_for(envelope, message_id, verify=False)
            decoded = found
        if decoded.__class__ is wire.Envelope:
            return self.call_for(decoded, message_id)
        return self.raw_call(decoded, message_id)  # type: ignore[arg-type]

    def call_for(self, envelope: wire.Envelope, message_id: str | None, *, verify: bool = True) -> Call:
        """A call for an envelope; ``verify=False`` for peers' formats, which carry no signature."""
        if self.signing_key is not None and verify:
            from .signing import verify as verify_signature

            verify_signature(self.signing_key, envelope, message_id)
        job = self.jobs.get(envelope.job)
        if job is None:
            raise UnknownJobError(self.unknown_job_reason(envelope.job), message_id=message_id, job=envelope.job)
        schema = job._schema or job.schema
        values = wire.decode_arguments(envelope, schema.decoder, message_id=message_id)
        kwargs = schema.as_kwargs(values)
        if schema.wants_context:
            kwargs["context"] = dict(envelope.context or {})
        return Call(job.name, job.function, (), kwargs, envelope.context, schema.is_async, job.policy, envelope)

    def unknown_job_reason(self, name: str) -> str:
        """Why ``name`` is not a job here: the known names, and the nearest one to a typo."""
        return unknown_job_reason(name, self.jobs)

    def raw_call(self, body: wire.RawBody, message_id: str | None) -> Call:
        for route in self.raw_routes:
            if route.matches(body.value, body.is_json):
                return Call(
                    f"raw:{route.name}",
                    route.handler,
                    (body.value,),
                    is_async=route.is_async,
                    policy=self.default_policy,
                )
        if not body.is_json:
            from .peers import looks_like_pickle

            if looks_like_pickle(str(body.value)):
                raise PickleRejectedError("the body is a pickle payload: it is never unpickled", message_id=message_id)
            raise NoRouteError("the body is not JSON and no raw route accepts text", message_id=message_id)
        kind = (
            "an EventBridge event"
            if isinstance(body.value, dict) and "detail-type" in body.value
            else "JSON that is not an sqs-lambda envelope"
        )
        raise NoRouteError(f"the body is {kind} and no raw route matches it", message_id=message_id)

    def lambda_handler(self, event: Any, context: Any = None) -> dict[str, Any]:
        """The Lambda entry point: ``(event, context) -> {"batchItemFailures": [...]}``."""
        from .batch import handle_event

        return handle_event(self, event, context)

    @property
    def backend(self) -> SqsBackend:
        """The SQS port the failure policy's calls go through (DLQ copies, hops, backoff).

        Default: :class:`sqs_lambda.sqs.AwsSqs` with boto3's configuration, built on first use (the
        import stays light); an ``InMemoryQueue`` in unit tests."""
        if self._backend is None:
            from .sqs import default_backend

            self._backend = default_backend()
        return self._backend

    @backend.setter
    def backend(self, backend: SqsBackend) -> None:
        self._backend = backend

    # -- producing ----------------------------------------------------------------------------------

    @property
    def producer(self) -> Producer:
        """The producer bound to this router's queue (explicit setting, else the environment)."""
        if self._producer is None:
            from .producer import Producer

            url = self.queue_url or os.environ.get(QUEUE_URL_VARIABLE)
            name = self.queue_name or os.environ.get(QUEUE_NAME_VARIABLE)
            if not url and not name:
                raise ConfigurationError(
                    "this router is not bound to a queue: pass Router(queue_url=...) or set "
                    f"{QUEUE_URL_VARIABLE} (the template sets it in Lambda)"
                )
            self._producer = Producer(queue_url=url, queue_name=None if url else name, router=self)
        return self._producer

    def bind(self, producer: Producer | None) -> None:
        """Send ``.delay()`` calls through ``producer`` (tests, or a custom client)."""
        self._producer = producer


def unknown_job_reason(name: str, known: Iterable[str]) -> str:
    """Why ``name`` is not a registered job: the ``known`` names, and the nearest one to a typo."""
    import difflib  # only on this error path

    names = sorted(known)
    reason = f"no job named {name!r} is registered (known: {', '.join(names) or 'none'})"
    nearest = difflib.get_close_matches(name, names, n=1)
    return f"{reason}; did you mean {nearest[0]!r}?" if nearest else f"{reason}."

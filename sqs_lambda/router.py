"""The Router: the facade users write against.

It composes the parts, each in its own module:
- :class:`~sqs_lambda.registry.Registry`: jobs by name and raw routes (``@router.job()``,
  ``@router.raw()``), and the one :class:`~sqs_lambda.jobs.SenderSlot` their ``.delay()`` sends through;
- :class:`~sqs_lambda.consuming.dispatch.Dispatcher`: a record becomes a call (``router.prepare(record)``);
- :class:`~sqs_lambda.consuming.consumer.Consumer`: the batch loop behind ``router.lambda_handler``;
Nothing here imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from . import settings
from .call import Call
from .consuming import backoff as _backoff
from .consuming.consumer import Consumer, ConsumerSettings
from .consuming.dispatch import Dispatcher, unknown_job_reason
from .consuming.policy import JobPolicy, UnknownJobFate
from .errors import ConfigurationError, RecordFailed
from .jobs import BakedJob, Job
from .middleware import Middleware
from .registry import RawRoute, Registry

if TYPE_CHECKING:
    from .aws.sqs import SqsBackend
    from .producing.producer import Producer

Format = Literal["sqs_lambda", "sqs_workers", "celery", "django_eb_sqs"]  # sqs_lambda.wire.peers.FORMATS

__all__ = ["BakedJob", "Call", "Job", "RawRoute", "Router", "unknown_job_reason"]


class Router:
    """Registers jobs and raw routes; routes SQS records to them.

    Settings (all optional):
    - ``queue_url`` / ``queue_name``: the queue that ``.delay()`` sends to. Default: the
      ``SQS_LAMBDA_QUEUE_URL`` / ``SQS_LAMBDA_QUEUE_NAME`` environment variables (set by the template).
      ``stage`` prefixes a ``queue_name`` as ``Producer`` does (default ``$SQS_LAMBDA_STAGE``).
    - ``default_max_retries``, ``default_backoff``, ``default_max_age``: the failure policy of jobs that
      do not set their own (``max_age``: seconds after which a failing job is no longer retried).
    - ``unknown_job``: ``"reject"`` (default, to the DLQ) or ``"retry"`` an envelope naming no job.
    - ``raise_on_entire_batch_failure``: raise instead of returning every id when all records fail.
    - ``fifo_skip_group_on_error``: on FIFO queues, after a failure skip only that message group.
    - ``time_margin_ms``: stop starting records when less than this much Lambda time remains.
    - ``max_concurrency``: how many ``async def`` jobs run at once within a batch.
    - ``accept``: the wire formats this router consumes (see :mod:`sqs_lambda.wire.peers`).
    - ``aliases``: django-eb-sqs dotted paths (or Celery task names) mapped to job names.
    - ``signing_key``: a key, a list of keys, or a loader; unsigned or forged envelopes are rejected.
    - ``payload_buckets``: the buckets whose S3 pointers (AWS's extended-client format) it reads, besides
      ``$SQS_LAMBDA_PAYLOAD_BUCKET``; ``keep_payloads=True`` keeps the objects after the job succeeds.
    - ``middleware``: code run around each job (see :mod:`sqs_lambda.middleware`); ``add_middleware`` adds more.
    """

    def __init__(
        self,
        *,
        queue_url: str | None = None,
        queue_name: str | None = None,
        stage: str | None = None,
        default_max_retries: int | None = None,
        default_backoff: _backoff.BackoffPolicy | None = None,
        default_max_age: float | None = None,
        unknown_job: UnknownJobFate = "reject",
        raise_on_entire_batch_failure: bool = False,
        fifo_skip_group_on_error: bool = False,
        time_margin_ms: int = 3_000,
        max_concurrency: int = 10,
        accept: Sequence[Format] = ("sqs_lambda",),
        aliases: Mapping[str, str] | None = None,
        signing_key: Any = None,
        payload_buckets: Sequence[str] = (),
        keep_payloads: bool = False,
        middleware: Sequence[Middleware] = (),
    ) -> None:
        if tuple(accept) != ("sqs_lambda",):  # peers' formats are imported only when accepted
            from .wire.peers import FORMATS

            unsupported = set(accept) - set(FORMATS)
            if unsupported:
                raise ConfigurationError(f"unknown formats in accept: {sorted(unsupported)}")
        default_policy = JobPolicy(
            max_retries=default_max_retries,
            backoff=default_backoff if default_backoff is not None else _backoff.exponential(),
            unknown_job=unknown_job,
            max_age=default_max_age,
        )
        self.registry = Registry(default_policy, queue_url=queue_url, queue_name=queue_name, stage=stage)
        self.dispatcher = Dispatcher(
            self.registry, accept=accept, aliases=aliases, signing_key=signing_key, payload_buckets=payload_buckets
        )
        self.consumer = Consumer(
            self.dispatcher,
            ConsumerSettings(
                default_policy,
                raise_on_entire_batch_failure=raise_on_entire_batch_failure,
                fifo_skip_group_on_error=fifo_skip_group_on_error,
                time_margin_ms=time_margin_ms,
                max_concurrency=max_concurrency,
                keep_payloads=keep_payloads,
                middleware=tuple(middleware),
            ),
        )
        environment, hooked = settings.current(), False
        if environment.snap_start:  # SnapStart: its hooks warm up before the snapshot
            from .consuming import snapstart

            hooked = snapstart.register(self)
        if environment.prewarm and not hooked:  # SQS_LAMBDA_PREWARM: the failure path warmed now, at init
            from .consuming.prewarm import prewarm

            prewarm()

    # -- registering --------------------------------------------------------------------------------

    @property
    def job(self) -> Callable[..., Callable[[Callable[..., Any]], Job]]:
        """``@router.job(name=None, *, max_retries, backoff, idempotent, idempotency_key, expires_after,
        max_age)``: register a job (see :meth:`~sqs_lambda.registry.Registry.job`)."""
        return self.registry.job

    @property
    def raw(self) -> Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]]:
        """``@router.raw(*, source, detail_type, match, text)``: register a handler for bodies that are
        not envelopes (see :meth:`~sqs_lambda.registry.Registry.raw`)."""
        return self.registry.raw

    @property
    def jobs(self) -> Mapping[str, Job]:
        """The registered jobs by wire name."""
        return self.registry.jobs

    @property
    def raw_routes(self) -> Sequence[RawRoute]:
        return self.registry.raw_routes

    @property
    def default_policy(self) -> JobPolicy:
        return self.registry.default_policy

    # -- consuming ----------------------------------------------------------------------------------

    def lambda_handler(self, event: Any, context: Any = None) -> dict[str, Any]:
        """The Lambda entry point: ``(event, context) -> {"batchItemFailures": [...]}``."""
        return self.consumer.handle(event, context)

    def handle(self, event: Any, context: Any = None, *, port: SqsBackend | None = None) -> dict[str, Any]:
        """:meth:`lambda_handler`, with the SQS port for this invocation's effects passed in (worker mode,
        the test kit); the router's own port is left as it is."""
        return self.consumer.handle(event, context, port=port)

    def add_middleware(self, middleware: Middleware) -> None:
        """Run ``middleware`` around each job, after those added before it (see :mod:`sqs_lambda.middleware`)."""
        settings = self.consumer.settings
        settings.middleware = (*settings.middleware, middleware)

    @property
    def middleware(self) -> tuple[Middleware, ...]:
        return self.consumer.settings.middleware

    def include_router(self, other: Router, prefix: str = "") -> None:
        """Make ``other``'s jobs and raw routes this router's, as Powertools' ``include_router`` does for
        routes, so a large app declares its jobs in several modules. Each job is named ``prefix.name``
        (its wire name: ``.delay()`` sends that), takes this router's defaults where it set none, and
        sends through this router's producer. A name already registered here is refused."""
        self.registry.include(other.registry, prefix)

    def record_handler(self, record: Any, lambda_context: Any = None) -> None:
        """One SQS record through this router, for Powertools' own ``BatchProcessor`` (or
        ``SqsFifoPartialProcessor``) and ``process_partial_response``: prepared, run, and settled by the
        failure policy (backoff set; a poison record copied to the DLQ with its reason and then treated
        as handled). It raises :class:`~sqs_lambda.errors.RecordFailed` when the record must be reported
        in ``batchItemFailures``, so Powertools reports it. ``record`` is Powertools' ``SQSRecord`` or
        the record's dict."""
        from .consuming.delivery import invoke_records

        raw = getattr(record, "raw_event", record)
        judgement = invoke_records([raw], lambda event: self.consumer.handle(event, lambda_context))
        if judgement.failed:
            raise RecordFailed(raw.get("messageId") if isinstance(raw, dict) else None)

    def prepare(self, record: Mapping[str, Any], message_id: str | None = None) -> Call:
        """Decode, route and validate one SQS record. Raises MessageError with the reason."""
        return self.dispatcher.prepare(record, message_id)

    def unknown_job_reason(self, name: str) -> str:
        """Why ``name`` is not a job here: the known names, and the nearest one to a typo."""
        return unknown_job_reason(name, self.registry.jobs)

    @property
    def backend(self) -> SqsBackend:
        """The SQS port the failure policy's calls go through (DLQ copies, hops, backoff).

        Default: :class:`sqs_lambda.aws.sqs.AwsSqs` with boto3's configuration, built on first use (the
        import stays light); an ``InMemoryQueue`` in unit tests."""
        return self.consumer.backend

    @backend.setter
    def backend(self, backend: SqsBackend) -> None:
        self.consumer.backend = backend

    # -- producing ----------------------------------------------------------------------------------

    @property
    def producer(self) -> Producer:
        """The producer bound to this router's queue (explicit setting, else the environment)."""
        return self.registry.sender.get()

    def bind(self, producer: Producer | None) -> None:
        """Send ``.delay()`` calls through ``producer`` (tests, or a custom client)."""
        self.registry.sender.bind(producer)

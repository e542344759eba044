"""The producer client: how applications enqueue jobs.

Contract:
- Arguments are validated against the job's signature (when the producer knows the router) before
  anything is sent; a bad call raises ``JobArgumentError`` (a TypeError) and sends nothing.
- Each message (body + attributes) is checked against the queue's ``MaximumMessageSize``.
- ``batch()`` and ``send_many()`` send at most 10 entries and 1 MiB per SendMessageBatch. Entries that
  fail without being the sender's fault are retried with bounded backoff (whole requests are retried
  by botocore alone); whatever is still unsent raises one :class:`SendError` listing every unsent
  entry. No message is silently dropped.
- Delays: 0-900 s use DelaySeconds; up to :data:`MAX_DELAY` the envelope carries a not-before time and
  consumers re-send it in hops of at most 900 s. FIFO queues take no per-message delay.
- FIFO: a group id is required (or ``default_group_id``); without content-based deduplication the
  deduplication id is the envelope id, so retried sends do not duplicate.
- Standard queues take a group id too (SQS fair queues: it names the tenant); ``default_group_id`` may
  be a callable over the job's context. A deduplication id is FIFO-only.
"""

from __future__ import annotations

import datetime as _dt
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

from .. import otel, settings
from ..aws.sqs import Attributes, QueueInfo, SqsBackend, default_backend
from ..context import current_context
from ..errors import ConfigurationError, MessageTooLargeError
from ..wire import codec
from ..wire import envelope as wire
from . import sending
from .batching import check_delay
from .queues import QueueRef
from .sending import Outgoing

if TYPE_CHECKING:
    import msgspec

    from ..schema import ArgumentSchema


class MessageOptions(TypedDict, total=False):
    """A message's options: a delay in seconds (over 900: hops), the FIFO group and deduplication ids, and
    message attributes of its own (for ``FilterCriteria`` or consoles; SQS allows 10 in all)."""

    delay: float | None
    group_id: str | None
    deduplication_id: str | None
    attributes: Attributes | None


class KnownJob(Protocol):
    """What the producer reads of a registered job (:class:`sqs_lambda.jobs.Job`): its argument schema."""

    @property
    def schema(self) -> ArgumentSchema: ...
    def validate(self, kwargs: Mapping[str, Any] | msgspec.Raw) -> dict[str, Any]: ...


class KnowsJobs(Protocol):
    """What the producer reads of a router (or its registry): the jobs, to validate arguments."""

    @property
    def jobs(self) -> Mapping[str, KnownJob]: ...


MAX_SQS_DELAY = 900
STAGE_VARIABLE = settings.STAGE
FLUSH_AT = 500  # a batch() block sends what it holds once it reaches this many messages


@dataclass
class BatchResult:
    """What a ``batch()`` block sent: MessageIds in the order of the ``send`` calls."""

    message_ids: list[str] = field(default_factory=list)


class Producer:
    """Sends jobs to one queue. See the module docstring for the guarantees.

    ``queue_url`` or ``queue_name`` (prefixed with ``stage``, default ``$SQS_LAMBDA_STAGE``, as
    ``<stage>-<name>``; resolved once with GetQueueUrl). ``router`` enables argument validation (only its
    registered jobs are read). ``backend`` is the SQS port (default: boto3's configuration; an
    ``InMemoryQueue`` in tests). ``concurrency`` is the number of threads ``send_many`` uses.
    ``payload_bucket`` (default ``$SQS_LAMBDA_PAYLOAD_BUCKET``) sends a message larger than
    ``payload_threshold`` bytes (default: the queue's ``MaximumMessageSize``) as an S3 pointer in AWS's
    extended-client format; without a bucket such a message raises ``MessageTooLargeError``.
    """

    def __init__(
        self,
        queue_url: str | None = None,
        *,
        queue_name: str | None = None,
        stage: str | None = None,
        router: KnowsJobs | None = None,
        backend: SqsBackend | None = None,
        default_group_id: str | Callable[[Mapping[str, Any]], str | None] | None = None,
        concurrency: int = 4,
        signing_key: Any = None,
        payload_bucket: str | None = None,
        payload_threshold: int | None = None,
    ) -> None:
        if not queue_url and not queue_name:
            raise ConfigurationError("Producer needs queue_url or queue_name")
        settings.expire()
        environment = settings.current()
        self.queue = QueueRef(url=queue_url, name=queue_name, stage=stage if stage is not None else environment.stage)
        self._queue_url = queue_url
        self.queue_name = self.queue.full_name
        self.jobs: Mapping[str, KnownJob] = router.jobs if router is not None else {}
        self.backend: SqsBackend = backend or default_backend()
        self.default_group_id = default_group_id
        self.concurrency = max(1, concurrency)
        self.signing_key = signing_key
        self.payload_bucket = payload_bucket or environment.payload_bucket
        self.payload_threshold = payload_threshold
        self._local = threading.local()
        self._lock = threading.Lock()

    # -- the queue ----------------------------------------------------------------------------------

    @property
    def queue_url(self) -> str:
        if self._queue_url is None:
            self._queue_url = self.queue.resolve(self.backend)
        return self._queue_url

    @property
    def info(self) -> QueueInfo:
        """The queue's facts (read once: the backend caches them)."""
        return self.backend.queue_info(url=self.queue_url)

    # -- sending ------------------------------------------------------------------------------------

    def send(
        self,
        job: str,
        /,
        *,
        delay: float | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        **kwargs: Any,
    ) -> str:
        """Send one job; returns its MessageId (inside ``batch()``, the envelope id: see there).

        ``delay``, ``group_id`` and ``deduplication_id`` are options; a job whose arguments use those
        names is sent with :meth:`enqueue`.
        """
        return self.enqueue(job, kwargs, delay=delay, group_id=group_id, deduplication_id=deduplication_id)

    def enqueue(self, job: str, kwargs: Mapping[str, Any], **options: Unpack[MessageOptions]) -> str:
        """Send one job given its arguments as a mapping; returns its MessageId."""
        return self._submit(self.build(job, kwargs, **options))

    def send_raw(self, body: Any, **options: Unpack[MessageOptions]) -> str:
        """Send a body without an envelope (a str as is, anything else as JSON), with ``attributes=`` if any."""
        text = body if isinstance(body, str) else codec.dumps(body)
        message = Outgoing(text, _attributes(options.get("attributes") or {}), wire.new_envelope_id())
        self._finish(message, **options)
        return self._submit(message)

    def send_many(
        self,
        jobs: Iterable[tuple[str, Mapping[str, Any]]],
        *,
        group_id: str | None = None,
        concurrency: int | None = None,
    ) -> list[str]:
        """Send many jobs in SendMessageBatch calls (threads for large sends); returns MessageIds in order."""
        messages = [self.build(job, kwargs, group_id=group_id) for job, kwargs in jobs]
        return self.send_messages(messages, concurrency=concurrency)

    @contextmanager
    def batch(self) -> Iterator[BatchResult]:
        """Buffer sends in this thread and flush them in batches; flushes on exit, even on error."""
        if getattr(self._local, "buffer", None) is not None:
            raise ConfigurationError("batch() blocks do not nest")
        buffer: list[Outgoing] = []
        result = BatchResult()
        self._local.buffer, self._local.result = buffer, result
        try:
            yield result
        finally:
            self._local.buffer = self._local.result = None
            result.message_ids += self.send_messages(buffer)

    # -- building -----------------------------------------------------------------------------------

    def build(self, job: str, kwargs: Mapping[str, Any], **options: Unpack[MessageOptions]) -> Outgoing:
        """Validate and encode one job (nothing is sent). The kwargs are encoded once, for both."""
        known = self.jobs.get(job)
        if known is not None and known.schema.models:  # Django model instances travel as primary keys
            kwargs = known.schema.to_wire(kwargs, job)
        raw_kwargs = wire.encode_kwargs(job, kwargs)
        if known is not None:
            known.validate(raw_kwargs)
        not_before = None
        delay = options.get("delay")
        if delay is not None and delay > MAX_SQS_DELAY:
            check_delay(delay)
            not_before = _dt.datetime.now(_dt.UTC) + _dt.timedelta(seconds=delay)
        context = current_context()
        extra = options.get("attributes") or {}
        active = otel.tracer()  # OpenTelemetry: a job enqueued by a job names its parent; no room, no attributes
        if active is not None:
            context = {**context, **otel.envelope_fields(1 + len(extra))}
        signer = None
        if self.signing_key is not None:
            from ..wire.signing import signer_for

            signer = signer_for(self.signing_key)
        body, envelope_id = wire.encode_bytes(
            job, raw_kwargs, context=context or None, not_before=not_before, sign=signer
        )
        message = Outgoing(body.decode(), {**wire.job_attributes(job), **_attributes(extra)}, envelope_id)
        self._finish(message, body_size=len(body), **options)
        return message

    def _finish(self, message: Outgoing, body_size: int | None = None, **options: Unpack[MessageOptions]) -> None:
        """The per-message options, checked against the queue, and the size SQS will count."""
        delay, group_id, deduplication_id = (
            options.get("delay"),
            options.get("group_id"),
            options.get("deduplication_id"),
        )
        if len(message.attributes) > otel.MAX_ATTRIBUTES:
            raise ConfigurationError(
                f"message {message.envelope_id} has {len(message.attributes)} attributes: SQS allows 10"
            )
        info = self.info
        if delay:
            check_delay(delay)
            if info.fifo:
                raise ConfigurationError(
                    "FIFO queues take no per-message delay (SQS allows only the "
                    "queue's DelaySeconds); send without delay"
                )
            message.delay = min(int(delay + 0.999), MAX_SQS_DELAY)
        message.group_id = group_id or self._default_group()
        if info.fifo:
            if not message.group_id:
                raise ConfigurationError(
                    f"queue {info.name} is FIFO: pass group_id=... (or set Producer(default_group_id=...))"
                )
            message.dedup_id = deduplication_id or (None if info.content_dedup else message.envelope_id)
        elif deduplication_id is not None:
            raise ConfigurationError(f"queue {info.name} is not FIFO: deduplication_id applies to FIFO queues only")
        wire.check_content(
            message.body, message.attributes, entry=f"message {message.envelope_id} ({sending.job_of(message)})"
        )
        message.size = wire.message_size(message.body, message.attributes, body_size=body_size)
        threshold = min(self.payload_threshold or info.max_message_size, info.max_message_size)
        if message.size > threshold and self.payload_bucket:
            self._offload(message)
        if message.size > info.max_message_size:
            raise MessageTooLargeError(message.size, info.max_message_size)

    def _default_group(self) -> str | None:
        """``default_group_id``, or what it answers for the current context (a tenant set once with
        ``context(tenant=...)`` becomes every job's group)."""
        default = self.default_group_id
        return default(current_context()) if callable(default) else default

    def _offload(self, message: Outgoing) -> None:
        """Put the body in S3 and send its pointer (the extended clients' format) in its place."""
        from ..wire import payloads

        assert self.payload_bucket is not None
        body = message.body.encode()
        message.body = payloads.store(body, self.payload_bucket).body()
        message.attributes = {**message.attributes, **payloads.size_attribute(len(body))}
        message.size = wire.message_size(message.body, message.attributes)

    def _submit(self, message: Outgoing) -> str:
        buffer = getattr(self._local, "buffer", None)
        if buffer is not None:
            buffer.append(message)
            if len(buffer) >= FLUSH_AT:  # keep memory bounded in very long blocks
                pending = buffer[:]
                buffer.clear()  # the block's own list: what was flushed is not sent again on exit
                self._local.result.message_ids += self.send_messages(pending)
            return message.envelope_id
        return self.send_messages([message])[0]

    # -- the wire -----------------------------------------------------------------------------------

    def send_messages(self, messages: Sequence[Outgoing], *, concurrency: int | None = None) -> list[str]:
        """Send encoded messages; raise SendError naming every one that could not be sent."""
        if not messages:
            return []
        return sending.send_all(
            self.backend, self.queue_url, messages, concurrency=concurrency or self.concurrency, fifo=self.info.fifo
        )


def _attributes(attributes: Attributes) -> dict[str, dict[str, Any]]:
    return {name: dict(value) for name, value in attributes.items()}

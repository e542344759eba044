"""The SQS port: the one seam between sqs-lambda and SQS.

:class:`SqsBackend` is the Protocol that every part talks to: the producer, the consumer's effects
(DLQ copies, delay hops, backoff), the local runtime's triggers and schedules, and the operations.
:class:`AwsSqs` is the real implementation over boto3 (imported on the first call, never at import
time); ``sqs_lambda_testing.InMemoryQueue`` is the in-memory fake.

Contract of every implementation:
- ``queue_info`` is read once per queue and cached (queue facts do not change under a running consumer).
- ``send_batch`` returns SQS's raw response (``Successful`` and ``Failed``): a batch can partly fail.
- ``change_visibility`` and ``delete`` take any number of entries and return the entries that failed.
- The endpoint, region and credentials are configuration given to :class:`AwsSqs` (one
  :class:`~sqs_lambda.aws.AwsConfig`); nothing here reads or writes ``os.environ``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypedDict, Unpack

from .. import aws, settings
from ..errors import ConfigurationError
from ..wire import codec

DEFAULT_MAX_MESSAGE_SIZE = 1_048_576
DEFAULT_RETENTION = 345_600  # four days: SQS's default MessageRetentionPeriod
BATCH_LIMIT = 10
COUNT_ATTRIBUTES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """What we need to know about a queue, read once per container."""

    url: str
    arn: str
    fifo: bool
    content_dedup: bool
    max_message_size: int
    dlq_arn: str | None
    max_receive_count: int | None
    retention: int = DEFAULT_RETENTION  # MessageRetentionPeriod, seconds
    visibility_timeout: int = 30  # VisibilityTimeout, seconds

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Approximate message counts: visible, in flight (received, not deleted) and delayed."""

    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


Attributes = Mapping[str, Mapping[str, Any]]  # message attributes in SendMessage shape


class SendOptions(TypedDict, total=False):
    """A send's per-message options: ``DelaySeconds``, and the FIFO group and deduplication ids."""

    delay: int | None
    group_id: str | None
    dedup_id: str | None


class MoveTasksUnsupported(Exception):
    """The endpoint has no ``StartMessageMoveTask`` (moto, older emulators): move messages by hand."""


class SqsBackend(Protocol):
    """The SQS calls sqs-lambda makes (see the module docstring)."""

    def queue_url(self, name: str, *, account: str | None = None) -> str: ...
    def queue_info(self, *, url: str | None = None, arn: str | None = None) -> QueueInfo: ...
    def send(
        self, url: str, body: str, attributes: Attributes | None = None, **options: Unpack[SendOptions]
    ) -> str: ...
    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]: ...
    def receive(
        self, url: str, *, max_messages: int = 10, wait_seconds: float = 0, visibility_timeout: int | None = None
    ) -> list[dict[str, Any]]: ...
    def delete(self, url: str, receipts: Sequence[str]) -> list[dict[str, Any]]: ...
    def change_visibility(self, url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]: ...
    def counts(self, url: str) -> QueueCounts: ...
    def purge(self, url: str) -> None: ...
    def list_queues(self, prefix: str = "") -> list[str]: ...
    def start_move_task(self, source_arn: str, destination_arn: str | None, rate: int | None) -> str: ...


class ForwardingSqs:
    """An :class:`SqsBackend` that forwards every call to ``backend``: the base of the ports that change a
    few calls and pass the rest through (worker mode's heartbeat-aware port, the local runtime's faulty
    one). A subclass overrides what it changes."""

    def __init__(self, backend: SqsBackend) -> None:
        self.backend = backend

    def queue_url(self, name: str, *, account: str | None = None) -> str:
        return self.backend.queue_url(name, account=account)

    def queue_info(self, *, url: str | None = None, arn: str | None = None) -> QueueInfo:
        return self.backend.queue_info(url=url, arn=arn)

    def send(self, url: str, body: str, attributes: Attributes | None = None, **options: Unpack[SendOptions]) -> str:
        return self.backend.send(url, body, attributes, **options)

    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self.backend.send_batch(url, entries)

    def receive(
        self, url: str, *, max_messages: int = 10, wait_seconds: float = 0, visibility_timeout: int | None = None
    ) -> list[dict[str, Any]]:
        return self.backend.receive(
            url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )

    def delete(self, url: str, receipts: Sequence[str]) -> list[dict[str, Any]]:
        return self.backend.delete(url, receipts)

    def change_visibility(self, url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        return self.backend.change_visibility(url, changes)

    def counts(self, url: str) -> QueueCounts:
        return self.backend.counts(url)

    def purge(self, url: str) -> None:
        self.backend.purge(url)

    def list_queues(self, prefix: str = "") -> list[str]:
        return self.backend.list_queues(prefix)

    def start_move_task(self, source_arn: str, destination_arn: str | None, rate: int | None) -> str:
        return self.backend.start_move_task(source_arn, destination_arn, rate)


def chunks(items: Sequence[Any], size: int = BATCH_LIMIT) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class AwsSqs:
    """SQS through boto3: the real :class:`SqsBackend`.

    ``endpoint_url`` (a local engine, LocalStack), ``region`` and ``credentials`` are configuration; left
    out, boto3's own defaults apply (``AWS_ENDPOINT_URL_SQS``, ``AWS_REGION``...). Clients are built on
    first use, one per region (a queue URL or ARN names its region); queue facts are cached per instance.
    """

    def __init__(
        self,
        *,
        config: aws.AwsConfig | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        credentials: tuple[str, str] | None = None,
        aws_only: bool = False,
        profile: str | None = None,
    ) -> None:
        """``config``, or its fields one by one (see :class:`sqs_lambda.aws.AwsConfig`)."""
        self.config = config or aws.AwsConfig(endpoint_url, region, profile, credentials, aws_only)
        settings.expire()  # a new port takes the environment as it is now
        self._queues: dict[str, QueueInfo] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AwsSqs(endpoint_url={self.endpoint_url!r}, region={self.region!r})"

    @property
    def endpoint_url(self) -> str | None:
        return self.config.endpoint_url

    @property
    def region(self) -> str | None:
        return self.config.region

    @property
    def profile(self) -> str | None:
        return self.config.profile

    @property
    def credentials(self) -> tuple[str, str] | None:
        return self.config.credentials

    @property
    def aws_only(self) -> bool:
        return self.config.aws_only

    def client(self, url_or_arn: str | None = None) -> Any:
        """The boto3 SQS client for the queue's region (for calls this port does not wrap)."""
        return self.config.client("sqs", aws.region_of(url_or_arn) if url_or_arn else None)

    # -- queues -------------------------------------------------------------------------------------

    def queue_url(self, name: str, *, account: str | None = None) -> str:
        """GetQueueUrl for a queue name (and owner account, for cross-account queues)."""
        arguments: dict[str, str] = {"QueueName": name}
        if account:
            arguments["QueueOwnerAWSAccountId"] = account
        try:
            return str(self.client().get_queue_url(**arguments)["QueueUrl"])
        except Exception as error:
            if aws.error_code(error) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                raise ConfigurationError(f"queue {name!r} does not exist at this endpoint") from None
            raise

    def queue_info(self, *, url: str | None = None, arn: str | None = None) -> QueueInfo:
        key = url or arn
        if not key:
            raise ConfigurationError("a queue URL or ARN is needed")
        cached = self._queues.get(key)
        if cached is not None:
            return cached
        if url is None:
            assert arn is not None
            parts = arn.split(":")
            url = self.queue_url(parts[-1], account=parts[4] if len(parts) > 4 and parts[4] else None)
        names = [
            "QueueArn",
            "FifoQueue",
            "ContentBasedDeduplication",
            "MaximumMessageSize",
            "RedrivePolicy",
            "MessageRetentionPeriod",
            "VisibilityTimeout",
        ]
        attributes = self.client(url).get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        redrive = codec.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
        info = QueueInfo(
            url=url,
            arn=attributes.get("QueueArn", arn or ""),
            fifo=attributes.get("FifoQueue") == "true",
            content_dedup=attributes.get("ContentBasedDeduplication") == "true",
            max_message_size=int(attributes.get("MaximumMessageSize") or DEFAULT_MAX_MESSAGE_SIZE),
            dlq_arn=redrive.get("deadLetterTargetArn"),
            max_receive_count=int(redrive["maxReceiveCount"]) if redrive.get("maxReceiveCount") else None,
            retention=int(attributes.get("MessageRetentionPeriod") or DEFAULT_RETENTION),
            visibility_timeout=int(attributes.get("VisibilityTimeout") or 30),
        )
        with self._lock:  # found again by either name: the producer asks by URL, the consumer by ARN
            self._queues[key] = self._queues[info.url] = info
            if info.arn:
                self._queues[info.arn] = info
        return info

    def counts(self, url: str) -> QueueCounts:
        attributes = self.client(url).get_queue_attributes(QueueUrl=url, AttributeNames=list(COUNT_ATTRIBUTES))
        visible, in_flight, delayed = (int(attributes["Attributes"].get(name, 0)) for name in COUNT_ATTRIBUTES)
        return QueueCounts(visible, in_flight, delayed)

    def list_queues(self, prefix: str = "") -> list[str]:
        paginator = self.client().get_paginator("list_queues")
        urls: list[str] = []
        for page in paginator.paginate(QueueNamePrefix=prefix) if prefix else paginator.paginate():
            urls += page.get("QueueUrls", [])
        return urls

    def purge(self, url: str) -> None:
        self.client(url).purge_queue(QueueUrl=url)

    # -- messages -----------------------------------------------------------------------------------

    def send(self, url: str, body: str, attributes: Attributes | None = None, **options: Unpack[SendOptions]) -> str:
        """One SendMessage; returns the MessageId."""
        arguments: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
        if attributes:
            arguments["MessageAttributes"] = dict(attributes)
        if options.get("delay"):
            arguments["DelaySeconds"] = options["delay"]
        if options.get("group_id") is not None:
            arguments["MessageGroupId"] = options["group_id"]
        if options.get("dedup_id") is not None:
            arguments["MessageDeduplicationId"] = options["dedup_id"]
        return str(self.client(url).send_message(**arguments)["MessageId"])

    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """One SendMessageBatch (at most 10 entries): the raw response with ``Successful`` and ``Failed``."""
        response: dict[str, Any] = self.client(url).send_message_batch(QueueUrl=url, Entries=list(entries))
        return response

    def receive(
        self, url: str, *, max_messages: int = 10, wait_seconds: float = 0, visibility_timeout: int | None = None
    ) -> list[dict[str, Any]]:
        """One ReceiveMessage with every system and message attribute (what Lambda's pollers ask for)."""
        arguments: dict[str, Any] = {
            "QueueUrl": url,
            "MaxNumberOfMessages": max(1, min(10, max_messages)),
            "WaitTimeSeconds": int(wait_seconds),
            "AttributeNames": ["All"],
            "MessageSystemAttributeNames": ["All"],
            "MessageAttributeNames": ["All"],
        }
        if visibility_timeout is not None:
            arguments["VisibilityTimeout"] = visibility_timeout
        return list(self.client(url).receive_message(**arguments).get("Messages", []))

    def delete(self, url: str, receipts: Sequence[str]) -> list[dict[str, Any]]:
        """DeleteMessageBatch, 10 at a time. Returns the failed entries (``Id`` is the receipt's index)."""
        failed: list[dict[str, Any]] = []
        client = self.client(url)
        for offset, chunk in enumerate(chunks(receipts)):
            entries = [{"Id": str(offset * BATCH_LIMIT + i), "ReceiptHandle": r} for i, r in enumerate(chunk)]
            failed += client.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
        return failed

    def change_visibility(self, url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        """Set each (receipt handle, seconds): one ChangeMessageVisibilityBatch per 10. Returns failures."""
        failed: list[dict[str, Any]] = []
        client = self.client(url)
        for chunk in chunks(changes):
            entries = [
                {"Id": str(i), "ReceiptHandle": receipt, "VisibilityTimeout": seconds}
                for i, (receipt, seconds) in enumerate(chunk)
            ]
            failed += client.change_message_visibility_batch(QueueUrl=url, Entries=entries).get("Failed", [])
        return failed

    def start_move_task(self, source_arn: str, destination_arn: str | None, rate: int | None) -> str:
        """StartMessageMoveTask; :class:`MoveTasksUnsupported` where the endpoint has none."""
        arguments: dict[str, Any] = {"SourceArn": source_arn}
        if destination_arn:
            arguments["DestinationArn"] = destination_arn
        if rate:
            arguments["MaxNumberOfMessagesPerSecond"] = rate
        try:
            return str(self.client(source_arn).start_message_move_task(**arguments)["TaskHandle"])
        except Exception as error:  # moto answers 500; some emulators have no such action
            raise MoveTasksUnsupported(str(error)) from error


_default: AwsSqs | None = None


def default_backend() -> AwsSqs:
    """The process-wide :class:`AwsSqs`, configured by boto3's defaults (what a Lambda function uses)."""
    global _default
    if _default is None:
        _default = AwsSqs()
    return _default


def reset() -> None:
    """Forget the default backend and its cached queue facts (tests, and a re-pointed endpoint)."""
    global _default
    _default = None


aws.on_reset(reset)

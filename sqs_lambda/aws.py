"""The thin AWS layer: lazily built clients, cached queue facts, and the few SQS calls we make.

boto3 is imported on the first call that needs it (backoff, DLQ, producer), never at import time:
the router's success path stays free of it. The endpoint comes from boto3's own configuration, so
``AWS_ENDPOINT_URL_SQS`` (or ``AWS_ENDPOINT_URL``) points everything at a local server.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import envelope
from .errors import ConfigurationError

_lock = threading.Lock()
_clients: dict[tuple[str | None, ...], Any] = {}
_queues: dict[str, QueueInfo] = {}
DEFAULT_MAX_MESSAGE_SIZE = 1_048_576
BATCH_LIMIT = 10


def _endpoint_key(service: str) -> tuple[str | None, ...]:
    return (os.environ.get(f"AWS_ENDPOINT_URL_{service.upper()}"), os.environ.get("AWS_ENDPOINT_URL"))


def client(service: str = "sqs", region: str | None = None) -> Any:
    """A cached boto3 client; the cache follows the endpoint variables so tests can re-point it."""
    key = (service, region or _default_region(), *_endpoint_key(service))
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            import boto3  # lazy: the cold-start path never gets here
            from botocore.config import Config

            config = Config(retries={"mode": "standard", "total_max_attempts": 4}, connect_timeout=5, read_timeout=30)
            _clients[key] = boto3.session.Session().client(service, region_name=key[1], config=config)
        return _clients[key]


def resource(service: str, region: str | None = None) -> Any:
    """A cached boto3 resource (e.g. ``resource("dynamodb").Table(name)``), built on first use."""
    key = ("resource", service, region or _default_region(), *_endpoint_key(service))
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        if key not in _clients:
            import boto3

            _clients[key] = boto3.session.Session().resource(service, region_name=key[2])
        return _clients[key]


def reset() -> None:
    """Forget cached clients and queue facts (tests, and the local runtime on restart)."""
    with _lock:
        _clients.clear()
        _queues.clear()


def _default_region() -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def region_of(arn_or_url: str) -> str | None:
    """The region named in a queue ARN or an AWS queue URL; None for local endpoints."""
    if arn_or_url.startswith("arn:"):
        parts = arn_or_url.split(":")
        return parts[3] if len(parts) > 5 and parts[3] else None
    host = arn_or_url.split("//", 1)[-1].split("/", 1)[0]
    pieces = host.split(".")
    if len(pieces) >= 4 and pieces[0] == "sqs" and pieces[-2] == "amazonaws":
        return pieces[1]
    return None


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

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]


def queue_url(name: str, *, account: str | None = None, region: str | None = None) -> str:
    """GetQueueUrl for a queue name (and owner account, for cross-account queues)."""
    arguments: dict[str, str] = {"QueueName": name}
    if account:
        arguments["QueueOwnerAWSAccountId"] = account
    try:
        return str(client("sqs", region).get_queue_url(**arguments)["QueueUrl"])
    except Exception as error:
        if _error_code(error) in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
            raise ConfigurationError(f"queue {name!r} does not exist at this endpoint") from None
        raise


def queue_info(*, url: str | None = None, arn: str | None = None) -> QueueInfo:
    """Facts about a queue given its URL or ARN, cached per container."""
    key = url or arn
    if not key:
        raise ConfigurationError("a queue URL or ARN is needed")
    cached = _queues.get(key)
    if cached is not None:
        return cached
    region = region_of(key)
    if url is None:
        assert arn is not None
        parts = arn.split(":")
        url = queue_url(parts[-1], account=parts[4] or None, region=region)
    names = ["QueueArn", "FifoQueue", "ContentBasedDeduplication", "MaximumMessageSize", "RedrivePolicy"]
    attributes = client("sqs", region).get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    redrive = envelope.loads(attributes["RedrivePolicy"]) if attributes.get("RedrivePolicy") else {}
    info = QueueInfo(
        url=url,
        arn=attributes.get("QueueArn", arn or ""),
        fifo=attributes.get("FifoQueue") == "true",
        content_dedup=attributes.get("ContentBasedDeduplication") == "true",
        max_message_size=int(attributes.get("MaximumMessageSize") or DEFAULT_MAX_MESSAGE_SIZE),
        dlq_arn=redrive.get("deadLetterTargetArn"),
        max_receive_count=int(redrive["maxReceiveCount"]) if redrive.get("maxReceiveCount") else None,
    )
    with _lock:
        _queues[key] = info
    return info


def _error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def chunks(items: Sequence[Any], size: int = BATCH_LIMIT) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def change_visibility(url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    """Set each (receipt handle, seconds): one ChangeMessageVisibilityBatch per 10. Returns failures."""
    failed: list[dict[str, Any]] = []
    sqs = client("sqs", region_of(url))
    for chunk in chunks(changes):
        entries = [
            {"Id": str(i), "ReceiptHandle": receipt, "VisibilityTimeout": seconds}
            for i, (receipt, seconds) in enumerate(chunk)
        ]
        failed += sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries).get("Failed", [])
    return failed


def send(
    url: str,
    body: str,
    attributes: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    delay: int | None = None,
    group_id: str | None = None,
    dedup_id: str | None = None,
) -> str:
    """One SendMessage; returns the MessageId."""
    arguments: dict[str, Any] = {"QueueUrl": url, "MessageBody": body}
    if attributes:
        arguments["MessageAttributes"] = dict(attributes)
    if delay:
        arguments["DelaySeconds"] = delay
    if group_id is not None:
        arguments["MessageGroupId"] = group_id
    if dedup_id is not None:
        arguments["MessageDeduplicationId"] = dedup_id
    return str(client("sqs", region_of(url)).send_message(**arguments)["MessageId"])


def send_batch(url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One SendMessageBatch (at most 10 entries): the raw response with ``Successful`` and ``Failed``."""
    response: dict[str, Any] = client("sqs", region_of(url)).send_message_batch(QueueUrl=url, Entries=list(entries))
    return response

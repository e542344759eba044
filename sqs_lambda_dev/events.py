"""Lambda's event shapes, in one place: records as Lambda's SQS trigger delivers them, the context, and
builders for realistic events (shaped like SAM CLI's generated samples).

The local runtime builds its events here, and the test kit re-exports the builders.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqs_lambda.jobs import BakedJob
from sqs_lambda.wire import codec
from sqs_lambda.wire import envelope as wire
from sqs_lambda.wire.records import body_md5 as _md5
from sqs_lambda.wire.records import lambda_attributes

ACCOUNT = "123456789012"
REGION = "us-east-1"


def queue_arn(queue: str = "jobs", *, fifo: bool = False, region: str = REGION, account: str = ACCOUNT) -> str:
    name = queue if not fifo or queue.endswith(".fifo") else f"{queue}.fifo"
    return f"arn:aws:sqs:{region}:{account}:{name}"


def _body_and_attributes(message: Any) -> tuple[str, dict[str, dict[str, Any]]]:
    if isinstance(message, BakedJob):
        body, _ = wire.encode(message.job.name, message.kwargs)
        return body, wire.job_attributes(message.job.name)
    if isinstance(message, tuple) and len(message) == 2 and isinstance(message[0], str):
        body, _ = wire.encode(message[0], message[1])
        return body, wire.job_attributes(message[0])
    if isinstance(message, str):
        return message, {}
    return codec.dumps(message), {}


def sqs_record(
    message: Any,
    *,
    fifo: bool = False,
    receive_count: int = 1,
    queue: str = "jobs",
    group_id: str = "default",
    attributes: Mapping[str, Mapping[str, Any]] | None = None,
    message_id: str | None = None,
    sequence: int = 0,
) -> dict[str, Any]:
    """One record. ``message`` is a baked job, a ``(job, kwargs)`` pair, a raw str, or raw JSON."""
    body, message_attributes = _body_and_attributes(message)
    message_attributes.update({k: dict(v) for k, v in (attributes or {}).items()})
    now_ms = int(time.time() * 1000)
    system = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(now_ms),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(now_ms + 1),
    }
    if fifo:
        system.update(
            {
                "SequenceNumber": str(18849496460467696128 + sequence),
                "MessageGroupId": group_id,
                "MessageDeduplicationId": hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest(),
            }
        )
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": f"AQEB{uuid.uuid4().hex}",
        "body": body,
        "attributes": system,
        "messageAttributes": lambda_attributes(message_attributes),
        "md5OfBody": _md5(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn(queue, fifo=fifo),
        "awsRegion": REGION,
    }


def sqs_event(
    *messages: Any, fifo: bool = False, receive_count: int = 1, queue: str = "jobs", group_id: str = "default"
) -> dict[str, Any]:
    """A Lambda SQS event with one record per message (see :func:`sqs_record`)."""
    return {
        "Records": [
            sqs_record(m, fifo=fifo, receive_count=receive_count, queue=queue, group_id=group_id, sequence=i)
            for i, m in enumerate(messages)
        ]
    }


def scheduled_event(rule: str = "ExampleRule", *, region: str = REGION, account: str = ACCOUNT) -> dict[str, Any]:
    """What EventBridge sends for a scheduled rule (the body of an SQS message, or a direct event)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{account}:rule/{rule}"],
        "detail": {},
    }


@dataclass
class LambdaContext:
    """A Lambda context whose remaining time counts down from ``remaining_ms`` at creation."""

    remaining_ms: int = 30_000
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-function"
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "local"
    sqs_backend: Any = None  # an SQS port for this invocation (the test kit's InMemoryQueue), if any
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def lambda_context(remaining_ms: int = 30_000, **fields: Any) -> LambdaContext:
    return LambdaContext(remaining_ms=remaining_ms, **fields)

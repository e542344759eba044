"""An in-memory queue for users' unit tests: a producer backend that records what was sent, and
:func:`drain`, which runs it through a router the way Lambda would, one record per invocation.

Limits (by design; use the ``sqs_local`` fixture for the real wire): no visibility timeouts (a retried
message goes to the back of the queue at once), no DelaySeconds (delays are ignored, and long-delay
hops are not simulated), no FIFO group blocking, no content deduplication. ``Reject`` and exhausted
retries land in ``queue.dead_letters`` with their reason, as the DLQ copy would in SQS.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqs_lambda import envelope as wire
from sqs_lambda.aws import DEFAULT_MAX_MESSAGE_SIZE, QueueInfo
from sqs_lambda_dev.events import lambda_record

if TYPE_CHECKING:
    from sqs_lambda.router import Router


@dataclass
class StoredMessage:
    message_id: str
    body: str
    attributes: dict[str, dict[str, Any]]
    group_id: str | None = None
    receive_count: int = 0

    @property
    def job(self) -> str | None:
        decoded = wire.decode(self.body)
        return decoded.job if isinstance(decoded, wire.Envelope) else None

    @property
    def kwargs(self) -> dict[str, Any]:
        decoded = wire.decode(self.body)
        return dict(wire.loads(decoded.kwargs)) if isinstance(decoded, wire.Envelope) else {}


@dataclass
class InMemoryQueue:
    """A queue (and its DLQ) in memory. Pass it as ``Producer(queue_url=..., backend=queue)``."""

    name: str = "jobs"
    fifo: bool = False
    content_dedup: bool = False
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    messages: list[StoredMessage] = field(default_factory=list)
    dead_letters: list[StoredMessage] = field(default_factory=list)
    sent: list[StoredMessage] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"memory://{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:us-east-1:123456789012:{self.name}"

    # -- producer backend ---------------------------------------------------------------------------

    def queue_info(self, url: str | None = None, *, arn: str | None = None) -> QueueInfo:
        dlq = f"{self.arn}-dlq" if not (arn or "").endswith("-dlq") else None
        return QueueInfo(
            url=self.url if dlq else f"{self.url}-dlq",
            arn=arn or self.arn,
            fifo=self.fifo,
            content_dedup=self.content_dedup,
            max_message_size=self.max_message_size,
            dlq_arn=dlq,
            max_receive_count=None,
        )

    def resolve(self, name: str) -> str:
        return self.url

    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        successful = []
        for entry in entries:
            message_id = self.send(
                url, entry["MessageBody"], entry.get("MessageAttributes"), group_id=entry.get("MessageGroupId")
            )
            successful.append({"Id": entry["Id"], "MessageId": message_id})
        return {"Successful": successful, "Failed": []}

    # -- the router's transport (DLQ copies, hops, backoff) -------------------------------------------

    def send(
        self,
        url: str,
        body: str,
        attributes: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        delay: int | None = None,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        message = StoredMessage(str(uuid.uuid4()), body, {k: dict(v) for k, v in (attributes or {}).items()}, group_id)
        if url.endswith("-dlq"):
            self.dead_letters.append(message)
        else:
            self.messages.append(message)
            self.sent.append(message)
        return message.message_id

    def change_visibility(self, url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        return []  # no clock here: a retried message simply goes back in line

    def jobs(self) -> list[tuple[str | None, dict[str, Any]]]:
        """Everything sent so far, as ``(job, kwargs)`` pairs (assert on these in tests)."""
        return [(m.job, m.kwargs) for m in self.sent]


@dataclass
class DrainResult:
    processed: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0


def drain(router: Router, queue: InMemoryQueue, *, max_attempts: int = 5, max_messages: int = 10_000) -> DrainResult:
    """Run every queued message through ``router.lambda_handler``, including the jobs those jobs enqueue.

    A message that keeps failing is moved to ``queue.dead_letters`` after ``max_attempts`` (standing in
    for the redrive policy). Returns counts.
    """
    from sqs_lambda_dev.events import lambda_context

    result = DrainResult()
    previous = router.transport
    router.transport = queue
    try:
        handled = 0
        while queue.messages and handled < max_messages:
            message = queue.messages.pop(0)
            message.receive_count += 1
            handled += 1
            received = {
                "MessageId": message.message_id,
                "ReceiptHandle": uuid.uuid4().hex,
                "Body": message.body,
                "Attributes": {
                    "ApproximateReceiveCount": str(message.receive_count),
                    **({"MessageGroupId": message.group_id} if message.group_id else {}),
                },
                "MessageAttributes": message.attributes,
            }
            dead_before = len(queue.dead_letters)
            response = router.lambda_handler(
                {"Records": [lambda_record(received, arn=queue.arn)]}, lambda_context(remaining_ms=900_000)
            )
            if len(queue.dead_letters) > dead_before:
                result.dead_lettered += 1
            elif response.get("batchItemFailures"):
                result.failed_attempts += 1
                if message.receive_count >= max_attempts:
                    queue.dead_letters.append(message)
                    result.dead_lettered += 1
                else:
                    queue.messages.append(message)
            else:
                result.processed += 1
    finally:
        router.transport = previous
    return result

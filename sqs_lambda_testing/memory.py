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
from typing import TYPE_CHECKING, Any, Unpack

from sqs_lambda.aws.sqs import (
    DEFAULT_MAX_MESSAGE_SIZE,
    Attributes,
    MoveTasksUnsupported,
    QueueCounts,
    QueueInfo,
    SendOptions,
)
from sqs_lambda.consuming import delivery
from sqs_lambda.wire import codec
from sqs_lambda.wire import envelope as wire
from sqs_lambda.wire.records import from_message as lambda_record

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
        return dict(codec.loads(decoded.kwargs)) if isinstance(decoded, wire.Envelope) else {}

    def received(self, receipt: str) -> dict[str, Any]:
        """This message as ReceiveMessage returns it."""
        system = {"ApproximateReceiveCount": str(self.receive_count)}
        if self.group_id:
            system["MessageGroupId"] = self.group_id
        return {
            "MessageId": self.message_id,
            "ReceiptHandle": receipt,
            "Body": self.body,
            "Attributes": system,
            "MessageAttributes": self.attributes,
        }


@dataclass
class InMemoryQueue:
    """A queue and its DLQ in memory: the test kit's :class:`~sqs_lambda.aws.sqs.SqsBackend`.

    Give it to a producer (``Producer(queue.url, backend=queue)``) or a router (``router.backend =
    queue``). It keeps what was sent (``messages``, ``dead_letters``, and ``jobs()``) and records every
    call the failure policy makes: ``sends`` (DLQ copies, delay hops, producer sends) and ``visibility``
    (backoff). ``dlq=False`` is a queue without a DLQ; ``fail_sends=True`` a queue that refuses sends.
    It answers ``queue_info`` for any queue ARN (``x-dlq`` is ``x``'s DLQ), so hand-built events work.
    """

    name: str = "jobs"
    fifo: bool = False
    content_dedup: bool = False
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    dlq: bool = True
    fail_sends: bool = False
    messages: list[StoredMessage] = field(default_factory=list)
    dead_letters: list[StoredMessage] = field(default_factory=list)
    sent: list[StoredMessage] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)
    visibility: list[tuple[str, list[tuple[str, int]]]] = field(default_factory=list)
    in_flight: dict[str, tuple[str, StoredMessage]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"memory://{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:sqs:us-east-1:123456789012:{self.name}"

    # -- queues -------------------------------------------------------------------------------------

    def queue_url(self, name: str, *, account: str | None = None) -> str:
        return f"memory://{name}"

    def queue_info(self, *, url: str | None = None, arn: str | None = None) -> QueueInfo:
        name = arn.rsplit(":", 1)[-1] if arn else (url or self.url).removeprefix("memory://")
        fifo = self.fifo or name.endswith(".fifo")
        base = name.removesuffix(".fifo")
        is_dlq = base.endswith("-dlq")
        dlq_name = f"{base}-dlq{'.fifo' if fifo else ''}"
        return QueueInfo(
            url=f"memory://{name}",
            arn=arn or f"arn:aws:sqs:us-east-1:123456789012:{name}",
            fifo=fifo,
            content_dedup=self.content_dedup,
            max_message_size=self.max_message_size,
            dlq_arn=None if is_dlq or not self.dlq else f"arn:aws:sqs:us-east-1:123456789012:{dlq_name}",
            max_receive_count=None,
        )

    def _is_dlq(self, url: str) -> bool:
        return url.removesuffix(".fifo").endswith("-dlq")

    def _stored(self, url: str) -> list[StoredMessage]:
        return self.dead_letters if self._is_dlq(url) else self.messages

    def counts(self, url: str) -> QueueCounts:
        flying = sum(1 for queue_url, _ in self.in_flight.values() if queue_url == url)
        return QueueCounts(len(self._stored(url)), flying, 0)

    def purge(self, url: str) -> None:
        self._stored(url).clear()

    def list_queues(self, prefix: str = "") -> list[str]:
        dlq = self.queue_info(url=self.url).dlq_arn
        names = [self.name] + ([dlq.rsplit(":", 1)[-1]] if dlq else [])
        return [f"memory://{name}" for name in names if name.startswith(prefix)]

    def start_move_task(self, source_arn: str, destination_arn: str | None, rate: int | None) -> str:
        raise MoveTasksUnsupported("the in-memory queue has no move tasks")

    # -- messages -----------------------------------------------------------------------------------

    def send(self, url: str, body: str, attributes: Attributes | None = None, **options: Unpack[SendOptions]) -> str:
        if self.fail_sends:
            raise RuntimeError("injected send failure")
        copied = {k: dict(v) for k, v in (attributes or {}).items()}
        group_id = options.get("group_id")
        recorded = {"delay": options.get("delay"), "group_id": group_id, "dedup_id": options.get("dedup_id")}
        self.sends.append({"url": url, "body": body, "attributes": copied, **recorded})
        message = StoredMessage(str(uuid.uuid4()), body, copied, group_id)
        self._stored(url).append(message)
        if not self._is_dlq(url):
            self.sent.append(message)
        return message.message_id

    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        successful = []
        for entry in entries:
            message_id = self.send(
                url,
                entry["MessageBody"],
                entry.get("MessageAttributes"),
                delay=entry.get("DelaySeconds"),
                group_id=entry.get("MessageGroupId"),
                dedup_id=entry.get("MessageDeduplicationId"),
            )
            successful.append({"Id": entry["Id"], "MessageId": message_id})
        return {"Successful": successful, "Failed": []}

    def receive(
        self, url: str, *, max_messages: int = 10, wait_seconds: float = 0, visibility_timeout: int | None = None
    ) -> list[dict[str, Any]]:
        stored = self._stored(url)
        taken, stored[:] = stored[:max_messages], stored[max_messages:]
        received = []
        for message in taken:
            message.receive_count += 1
            receipt = uuid.uuid4().hex
            self.in_flight[receipt] = (url, message)
            received.append(message.received(receipt))
        return received

    def delete(self, url: str, receipts: Sequence[str]) -> list[dict[str, Any]]:
        for receipt in receipts:
            self.in_flight.pop(receipt, None)
        return []

    def change_visibility(self, url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        """Recorded; no clock here: a message made visible again goes to the back of the line at once."""
        self.visibility.append((url, list(changes)))
        for receipt, _seconds in changes:
            flying = self.in_flight.pop(receipt, None)
            if flying is not None:
                self._stored(flying[0]).append(flying[1])
        return []

    def jobs(self) -> list[tuple[str | None, dict[str, Any]]]:
        """Everything sent so far, as ``(job, kwargs)`` pairs (assert on these in tests)."""
        return [(m.job, m.kwargs) for m in self.sent]


@dataclass
class DrainResult:
    processed: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0


def drain(router: Router, queue: InMemoryQueue, *, max_attempts: int = 5, max_messages: int = 10_000) -> DrainResult:
    """Run every queued message through the router as Lambda would (:mod:`sqs_lambda.consuming.delivery`), with the
    queue as each invocation's SQS port, including the jobs those jobs enqueue.

    A message that keeps failing is moved to ``queue.dead_letters`` after ``max_attempts`` (standing in
    for the redrive policy). Returns counts.
    """
    from sqs_lambda_dev.events import LambdaContext

    result = DrainResult()

    def invoke(event: dict[str, Any]) -> Any:  # the queue is each invocation's SQS port
        return router.handle(event, LambdaContext(remaining_ms=900_000), port=queue)

    handled = 0
    while queue.messages and handled < max_messages:
        message = queue.messages.pop(0)
        message.receive_count += 1
        handled += 1
        received = message.received(uuid.uuid4().hex)
        dead_before = len(queue.dead_letters)
        judgement = delivery.invoke_records([lambda_record(received, arn=queue.arn)], invoke)
        if len(queue.dead_letters) > dead_before:
            result.dead_lettered += 1
        elif judgement.failed:
            result.failed_attempts += 1
            if message.receive_count >= max_attempts:
                queue.dead_letters.append(message)
                result.dead_lettered += 1
            else:
                queue.messages.append(message)
        else:
            result.processed += 1
    return result

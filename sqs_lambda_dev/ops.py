"""Operations on queues: status, peek, redrive, purge, wait. The CLI is a thin layer over these.

Contracts:
- :func:`peek` receives messages and returns their visibility at once (visibility 0); note that SQS
  still counts the receive.
- :func:`redrive` moves DLQ messages back with ``StartMessageMoveTask`` where the endpoint has it, and
  otherwise receive -> send (body and attributes kept, the ``failure.*`` reason dropped) -> delete, in
  that order, deleting only what was sent: nothing is lost, duplicates stay within at-least-once. Like a
  move task it is bounded (:class:`DlqSweep`): at most what the DLQ held at the start, each message once.
- :func:`wait` returns when every queue is empty (visible, in flight and delayed), or False on timeout.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqs_lambda import aws
from sqs_lambda.aws.sqs import AwsSqs, MoveTasksUnsupported, QueueCounts, SqsBackend
from sqs_lambda.consuming import failure
from sqs_lambda.wire import codec, payloads
from sqs_lambda.wire import envelope as wire

if TYPE_CHECKING:
    from sqs_lambda_dev.local.invocation import Function


@dataclass
class QueueStatus:
    """One row of ``status``: a queue's counts, its DLQ's depth, and (on AWS) its oldest message's age."""

    name: str
    url: str
    counts: QueueCounts
    dlq_name: str | None = None
    dlq_depth: int | None = None
    oldest_age: float | None = None


def status_row(row: QueueStatus) -> dict[str, Any]:
    """One ``status`` row as JSON (``--output json``)."""
    return {
        "queue": row.name,
        "url": row.url,
        "visible": row.counts.visible,
        "in_flight": row.counts.in_flight,
        "delayed": row.counts.delayed,
        "dlq": row.dlq_name,
        "dlq_depth": row.dlq_depth,
        "oldest_age_seconds": row.oldest_age,
    }


def oldest_age(name: str, region: str | None = None) -> float | None:
    """ApproximateAgeOfOldestMessage from CloudWatch (AWS only; None where there is no such metric)."""
    import datetime as dt

    try:
        now = dt.datetime.now(dt.UTC)
        points = aws.client("cloudwatch", region).get_metric_statistics(
            Namespace="AWS/SQS",
            MetricName="ApproximateAgeOfOldestMessage",
            Dimensions=[{"Name": "QueueName", "Value": name}],
            StartTime=now - dt.timedelta(minutes=10),
            EndTime=now,
            Period=60,
            Statistics=["Maximum"],
        )["Datapoints"]
    except Exception:
        return None
    return max((float(p["Maximum"]) for p in points), default=None)


def status(backend: SqsBackend, urls: Sequence[str], *, with_age: bool = False) -> list[QueueStatus]:
    """One row per queue, with its DLQ's depth next to it."""
    rows = []
    for url in urls:
        info = backend.queue_info(url=url)
        row = QueueStatus(info.name, url, backend.counts(url))
        if info.dlq_arn:
            dlq = backend.queue_info(arn=info.dlq_arn)
            row.dlq_name = dlq.name
            row.dlq_depth = backend.counts(dlq.url).total
        if with_age:
            row.oldest_age = oldest_age(info.name, aws.region_of(info.arn))
        rows.append(row)
    return rows


def peek(backend: SqsBackend, url: str, count: int = 10, *, with_body: bool = False) -> list[dict[str, Any]]:
    """Up to ``count`` messages, decoded (``with_body``: their body too, as ``raw_body``, up to 4,000
    characters), then made visible again at once."""
    seen: list[dict[str, Any]] = []
    receipts: list[str] = []
    while len(seen) < count:
        messages = backend.receive(url, max_messages=min(10, count - len(seen)), visibility_timeout=30)
        if not messages:
            break
        for message in messages:
            receipts.append(message["ReceiptHandle"])
            entry = describe(message, s3=lambda: _s3_of(backend))
            if with_body:
                entry["raw_body"] = str(message.get("Body", ""))[:4000]
            seen.append(entry)
    if receipts:
        backend.change_visibility(url, [(receipt, 0) for receipt in receipts])
    return seen


PEEK_BYTES = 120


def _s3_of(backend: SqsBackend) -> Any:
    """An S3 client for the same endpoint, region and credentials as the SQS backend."""
    if isinstance(backend, AwsSqs):
        return backend.config.client("s3")
    return aws.client("s3")


def describe(message: dict[str, Any], s3: Callable[[], Any] | None = None) -> dict[str, Any]:
    """A received message as a person wants to read it: job, arguments, attempts, failure reason. A body
    that is an S3 pointer is resolved (with ``s3()``'s client): ``payload`` gives its location, size and
    first bytes, and the job is decoded from the real body."""
    attributes = message.get("MessageAttributes") or {}
    system = message.get("Attributes") or {}
    entry: dict[str, Any] = {
        "message_id": message["MessageId"],
        "attempts": int(system.get("ApproximateReceiveCount", 0)),
        "sent_at": int(system.get("SentTimestamp", 0)) / 1000 or None,
        "group": system.get("MessageGroupId"),
    }
    body = message.get("Body")
    if payloads.is_pointer(body):
        try:
            pointer = payloads.pointer_of(str(body))
            body = payloads.fetch(pointer, None, s3=s3() if s3 is not None else None)
            entry["payload"] = {"location": str(pointer), "size": len(body.encode()), "first_bytes": body[:PEEK_BYTES]}
        except Exception as error:
            entry["payload"] = {"error": str(error)}
    try:
        decoded = wire.decode(body)
    except Exception as error:
        entry.update(job="(undecodable)", error=str(error), body=str(message.get("Body"))[:200])
    else:
        if isinstance(decoded, wire.Envelope):
            entry.update(
                job=decoded.job,
                kwargs=codec.loads(decoded.kwargs),
                envelope_id=decoded.id,
                context=decoded.context,
                hops=decoded.hops,
            )
        else:
            entry.update(job="(raw)", body=decoded.value if decoded.is_json else str(decoded.value)[:200])
    reason = failure.read_failure(attributes)
    if reason:
        entry["failure"] = reason
    return entry


def source_of(backend: SqsBackend, dlq_url: str, candidates: Sequence[str]) -> str | None:
    """The queue among ``candidates`` whose redrive policy targets this DLQ."""
    dlq_arn = backend.queue_info(url=dlq_url).arn
    for url in candidates:
        if url != dlq_url and backend.queue_info(url=url).dlq_arn == dlq_arn:
            return url
    return None


@dataclass
class RedriveResult:
    """What a redrive did: ``moved`` of the ``to_move`` messages the DLQ held when it started.

    ``returned`` counts messages that came back to the DLQ during the run (they failed again) and were
    left there rather than moved a second time; ``remaining`` is the DLQ's depth afterwards.
    """

    moved: int = 0
    method: str = ""
    task_handle: str | None = None
    to_move: int = 0
    returned: int = 0
    remaining: int | None = None


def message_identity(message: dict[str, Any]) -> str:
    """What stays the same when a message fails again and is copied back to the DLQ: its envelope id,
    else its body (peers' formats and raw bodies are copied verbatim)."""
    body = message.get("Body") or ""
    try:
        decoded = wire.decode(body)
    except Exception:
        decoded = None
    if isinstance(decoded, wire.Envelope) and decoded.id:
        return f"envelope:{decoded.id}"
    return "body:" + hashlib.sha256(body.encode()).hexdigest()


class DlqSweep:
    """One bounded pass over a DLQ, as ``StartMessageMoveTask`` makes: only what it held at the start.

    :meth:`batches` yields received messages never seen before in this pass, until as many messages as
    the DLQ held at the start were handed out (or it is empty). A message that comes back during the
    pass (same envelope id or body) is not handed out again; it is made visible again at the end.
    """

    def __init__(self, backend: SqsBackend, dlq_url: str, *, visibility: int = 60) -> None:
        self.backend = backend
        self.dlq_url = dlq_url
        self.visibility = visibility
        self.to_move = backend.counts(dlq_url).total
        self.handed_out = 0
        self.seen: set[str] = set()
        self.returned: list[str] = []  # receipts of messages that came back during the pass

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        # Each receive hands out or sets aside at least one message, and at most to_move can come back.
        for _ in range(2 * self.to_move + 1):
            wanted = self.to_move - self.handed_out
            if wanted <= 0:
                break
            messages = self.backend.receive(
                self.dlq_url, max_messages=min(10, wanted), wait_seconds=1, visibility_timeout=self.visibility
            )
            if not messages:
                break
            fresh = []
            for message in messages:
                identity = message_identity(message)
                if identity in self.seen:
                    self.returned.append(message["ReceiptHandle"])
                else:
                    self.seen.add(identity)
                    fresh.append(message)
            if fresh:
                self.handed_out += len(fresh)
                yield fresh

    def finish(self) -> int:
        """Give the returned messages back to the DLQ at once; returns the DLQ's depth."""
        if self.returned:
            self.backend.change_visibility(self.dlq_url, [(receipt, 0) for receipt in self.returned])
        return self.backend.counts(self.dlq_url).total


def redrive(
    backend: SqsBackend,
    dlq_url: str,
    destination_url: str,
    *,
    rate: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    use_move_task: bool = True,
) -> RedriveResult:
    """Move the DLQ's messages back to ``destination_url`` (see the module docstring)."""
    dlq, destination = backend.queue_info(url=dlq_url), backend.queue_info(url=destination_url)
    if dry_run:
        depth = backend.counts(dlq_url).total
        return RedriveResult(moved=depth, method="dry-run", to_move=depth, remaining=depth)
    if use_move_task:
        try:
            handle = backend.start_move_task(dlq.arn, destination.arn, rate)
            depth = backend.counts(dlq_url).total
            return RedriveResult(moved=depth, method="StartMessageMoveTask", task_handle=handle, to_move=depth)
        except MoveTasksUnsupported:  # moto has none: move by hand
            pass
    sweep = DlqSweep(backend, dlq_url)
    moved = 0
    started = time.monotonic()
    for messages in sweep.batches():
        entries = [redrive_entry(str(index), message, destination.fifo) for index, message in enumerate(messages)]
        response = backend.send_batch(destination_url, entries)
        sent = {item["Id"] for item in response.get("Successful", [])}
        deletions = [m["ReceiptHandle"] for i, m in enumerate(messages) if str(i) in sent]
        if deletions:  # only what reached the destination leaves the DLQ
            backend.delete(dlq_url, deletions)
        moved += len(deletions)
        if progress:
            progress(len(deletions))
        if response.get("Failed") and not deletions:
            break  # the destination refuses everything: stop rather than spin
        if rate:
            ahead = moved / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    remaining = sweep.finish()
    return RedriveResult(
        moved=moved,
        method="receive-send-delete",
        to_move=sweep.to_move,
        returned=len(sweep.returned),
        remaining=remaining,
    )


def redrive_entry(entry_id: str, message: dict[str, Any], fifo: bool) -> dict[str, Any]:
    """A SendMessageBatch entry that re-sends a DLQ message: body and attributes, without the reason."""
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes = failure.strip_failure(message.get("MessageAttributes") or {})
    if attributes:
        entry["MessageAttributes"] = {
            k: {kk: vv for kk, vv in v.items() if kk in ("DataType", "StringValue", "BinaryValue")}
            for k, v in attributes.items()
        }
    group = (message.get("Attributes") or {}).get("MessageGroupId")
    if fifo:
        entry["MessageGroupId"] = group or "default"
        entry["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
    elif group:  # a fair queue's tenant
        entry["MessageGroupId"] = group
    return entry


def redrive_in_place(
    backend: SqsBackend,
    dlq_url: str,
    function: Function,
    *,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Run the DLQ's messages through ``function`` (the source queue's) as Lambda's trigger would.

    Bounded like :func:`redrive`: each message the DLQ held at the start runs once. Successes are
    deleted from the DLQ; failures stay there. Returns (succeeded, failed)."""
    from sqs_lambda_dev.local.trigger import Trigger, TriggerConfig

    info = backend.queue_info(url=dlq_url)
    trigger = Trigger(TriggerConfig(name=info.name, queue_url=dlq_url, queue_arn=info.arn), function, backend)
    succeeded = failed = 0
    sweep = DlqSweep(backend, dlq_url)
    for messages in sweep.batches():
        judgement = trigger.deliver(messages)
        if judgement is not None:
            succeeded += len(judgement.succeeded)
            failed += len(judgement.failed)
            if judgement.failed:  # give them back to the DLQ at once: they are not retried in this run
                receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
                backend.change_visibility(dlq_url, [(receipts[i], 0) for i in judgement.failed if i in receipts])
        if progress:
            progress(len(messages))
    sweep.finish()
    return succeeded, failed


def wait(backend: SqsBackend, urls: Sequence[str], *, timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if all(backend.counts(url).total == 0 for url in urls):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)

"""Operations on queues: status, peek, redrive, purge, wait. The CLI is a thin layer over these.

Contracts:
- :func:`peek` receives messages and returns their visibility at once (visibility 0); note that SQS
  still counts the receive.
- :func:`redrive` moves DLQ messages back with ``StartMessageMoveTask`` where the endpoint has it, and
  otherwise receive -> send (body and attributes kept, the ``failure.*`` reason dropped) -> delete, in
  that order, deleting only what was sent: nothing is lost, duplicates stay within at-least-once.
- :func:`wait` returns when every queue is empty (visible, in flight and delayed), or False on timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import aws
from . import envelope as wire

COUNT_NAMES = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass
class QueueStatus:
    name: str
    url: str
    visible: int
    in_flight: int
    delayed: int
    dlq_name: str | None = None
    dlq_depth: int | None = None
    oldest_age: float | None = None

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


def counts(url: str) -> tuple[int, int, int]:
    attributes = aws.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=list(COUNT_NAMES))["Attributes"]
    visible, in_flight, delayed = (int(attributes.get(name, 0)) for name in COUNT_NAMES)
    return visible, in_flight, delayed


def oldest_age(name: str) -> float | None:
    """ApproximateAgeOfOldestMessage from CloudWatch (AWS only; None where there is no such metric)."""
    import datetime as dt

    try:
        now = dt.datetime.now(dt.UTC)
        points = aws.client("cloudwatch").get_metric_statistics(
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


def status(urls: Sequence[str], *, with_age: bool = False) -> list[QueueStatus]:
    """One row per queue, with its DLQ's depth next to it."""
    rows = []
    for url in urls:
        info = aws.queue_info(url=url)
        visible, in_flight, delayed = counts(url)
        row = QueueStatus(info.name, url, visible, in_flight, delayed)
        if info.dlq_arn:
            dlq = aws.queue_info(arn=info.dlq_arn)
            row.dlq_name = dlq.name
            row.dlq_depth = sum(counts(dlq.url))
        if with_age:
            row.oldest_age = oldest_age(info.name)
        rows.append(row)
    return rows


def list_queues(prefix: str = "") -> list[str]:
    paginator = aws.client("sqs").get_paginator("list_queues")
    urls: list[str] = []
    for page in paginator.paginate(QueueNamePrefix=prefix) if prefix else paginator.paginate():
        urls += page.get("QueueUrls", [])
    return urls


def peek(url: str, count: int = 10) -> list[dict[str, Any]]:
    """Up to ``count`` messages, decoded, then made visible again at once."""
    sqs = aws.client("sqs")
    seen: list[dict[str, Any]] = []
    receipts: list[str] = []
    while len(seen) < count:
        messages = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(10, count - len(seen)),
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=30,
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            break
        for message in messages:
            receipts.append(message["ReceiptHandle"])
            seen.append(describe(message))
    if receipts:
        aws.change_visibility(url, [(receipt, 0) for receipt in receipts])
    return seen


def describe(message: dict[str, Any]) -> dict[str, Any]:
    """A received message as a person wants to read it: job, arguments, attempts, failure reason."""
    attributes = message.get("MessageAttributes") or {}
    entry: dict[str, Any] = {
        "message_id": message["MessageId"],
        "attempts": int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 0)),
    }
    try:
        decoded = wire.decode(message.get("Body"))
    except Exception as error:
        entry.update(job="(undecodable)", error=str(error), body=str(message.get("Body"))[:200])
    else:
        if isinstance(decoded, wire.Envelope):
            entry.update(
                job=decoded.job,
                kwargs=wire.loads(decoded.kwargs),
                envelope_id=decoded.id,
                context=decoded.context,
                hops=decoded.hops,
            )
        else:
            entry.update(job="(raw)", body=decoded.value if decoded.is_json else str(decoded.value)[:200])
    failure = wire.read_failure(attributes)
    if failure:
        entry["failure"] = failure
    return entry


def source_of(dlq_url: str, candidates: Sequence[str]) -> str | None:
    """The queue among ``candidates`` whose redrive policy targets this DLQ."""
    dlq_arn = aws.queue_info(url=dlq_url).arn
    for url in candidates:
        if url != dlq_url and aws.queue_info(url=url).dlq_arn == dlq_arn:
            return url
    return None


@dataclass
class RedriveResult:
    moved: int = 0
    method: str = ""
    task_handle: str | None = None


def redrive(
    dlq_url: str,
    destination_url: str,
    *,
    rate: int | None = None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
    use_move_task: bool = True,
) -> RedriveResult:
    """Move the DLQ's messages back to ``destination_url`` (see the module docstring)."""
    sqs = aws.client("sqs")
    dlq, destination = aws.queue_info(url=dlq_url), aws.queue_info(url=destination_url)
    if dry_run:
        return RedriveResult(moved=sum(counts(dlq_url)), method="dry-run")
    if use_move_task:
        try:
            arguments: dict[str, Any] = {"SourceArn": dlq.arn, "DestinationArn": destination.arn}
            if rate:
                arguments["MaxNumberOfMessagesPerSecond"] = rate
            handle = sqs.start_message_move_task(**arguments)["TaskHandle"]
            return RedriveResult(moved=sum(counts(dlq_url)), method="StartMessageMoveTask", task_handle=handle)
        except Exception:  # not supported by this endpoint (moto answers 500): move by hand
            pass
    moved = 0
    started = time.monotonic()
    while True:
        messages = sqs.receive_message(
            QueueUrl=dlq_url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
            WaitTimeSeconds=1,
        ).get("Messages", [])
        if not messages:
            break
        entries = []
        for index, message in enumerate(messages):
            entry: dict[str, Any] = {"Id": str(index), "MessageBody": message["Body"]}
            attributes = wire.strip_failure(message.get("MessageAttributes") or {})
            if attributes:
                entry["MessageAttributes"] = {
                    k: {kk: vv for kk, vv in v.items() if kk in ("DataType", "StringValue", "BinaryValue")}
                    for k, v in attributes.items()
                }
            if destination.fifo:
                entry["MessageGroupId"] = (message.get("Attributes") or {}).get("MessageGroupId", "default")
                entry["MessageDeduplicationId"] = f"redrive-{message['MessageId']}"
            entries.append(entry)
        response = sqs.send_message_batch(QueueUrl=destination_url, Entries=entries)
        sent = {item["Id"] for item in response.get("Successful", [])}
        deletions = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages) if str(i) in sent
        ]  # only what reached the destination leaves the DLQ
        if deletions:
            sqs.delete_message_batch(QueueUrl=dlq_url, Entries=deletions)
        moved += len(deletions)
        if progress:
            progress(len(deletions))
        if response.get("Failed") and not deletions:
            break  # the destination refuses everything: stop rather than spin
        if rate:
            ahead = moved / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
    return RedriveResult(moved=moved, method="receive-send-delete")


def redrive_in_place(
    dlq_url: str, handler: Any, *, timeout_seconds: float = 30.0, progress: Callable[[int], None] | None = None
) -> tuple[int, int]:
    """Run the DLQ's messages through ``handler`` (the source's lambda_handler) as Lambda would.

    Successes are deleted from the DLQ; failures stay there. Returns (succeeded, failed)."""
    from .local.trigger import Trigger, TriggerConfig

    info = aws.queue_info(url=dlq_url)
    trigger = Trigger(
        TriggerConfig(name=info.name, queue_url=dlq_url, queue_arn=info.arn, timeout_seconds=timeout_seconds),
        handler,
        aws.client("sqs"),
    )
    succeeded = failed = 0
    attempted: set[str] = set()
    while True:
        messages = [m for m in trigger.receive(wait_seconds=1) if m["MessageId"] not in attempted]
        if not messages:
            break
        attempted.update(m["MessageId"] for m in messages)
        verdict = trigger.deliver(messages)
        if verdict is not None:
            succeeded += len(verdict.succeeded)
            failed += len(verdict.failed)
            if verdict.failed:  # give them back to the DLQ at once: they are not retried in this run
                receipts = {m["MessageId"]: m["ReceiptHandle"] for m in messages}
                aws.change_visibility(dlq_url, [(receipts[i], 0) for i in verdict.failed if i in receipts])
        if progress:
            progress(len(messages))
    return succeeded, failed


def purge(url: str) -> None:
    aws.client("sqs").purge_queue(QueueUrl=url)


def wait(urls: Sequence[str], *, timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if all(sum(counts(url)) == 0 for url in urls):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)

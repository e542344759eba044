"""The consumer's effects on SQS: a poison record's DLQ copy, a long delay's next hop, and backoff.

The failure policy (:mod:`sqs_lambda.consuming.policy`) decides; these carry the decisions out through the SQS
port, and never raise: a failed effect downgrades the record to "stays in its queue", logged loudly,
so that nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .. import observe, otel
from ..wire import records as rec
from .failure import failure_reason, with_failure_attributes
from .policy import Fate, Verdict

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend

MAX_HOP_DELAY = 900


def copy_to_dlq(backend: SqsBackend, record: Any, fate: Fate, job: str | None, attempt: int) -> Fate:
    """Copy the record to its queue's DLQ with the reason; DONE lets Lambda delete the original.

    Any problem (no DLQ, no permission, a failed send) keeps the record in its queue instead (RETRY).
    """
    if not isinstance(record, dict) or not record.get("receiptHandle") or record.get("body") is None:
        return Fate(Verdict.RETRY, fate.error, reason="cannot copy a malformed record to a DLQ")
    arn = rec.source_arn(record)
    message_id = rec.message_id(record)
    try:
        source = backend.queue_info(arn=arn)
        if not source.dlq_arn:
            observe.log_loudly(
                "no DLQ is configured: the poison message stays in its queue", queue=arn, message_id=message_id, job=job
            )
            return Fate(Verdict.RETRY, fate.error, reason="no DLQ configured; left in the queue")
        dlq = backend.queue_info(arn=source.dlq_arn)
        reason = failure_reason(fate.error, attempts=attempt, source_queue=source.name, job=job, why=fate.reason)
        attributes = with_failure_attributes(rec.send_attributes(record), reason)
        group = (rec.group_id(record) or "default") if dlq.fifo else rec.group_id(record)  # fair queues: kept
        dedup = f"dlq-{message_id}-{attempt}" if dlq.fifo else None
        with otel.child("dlq copy", **{"messaging.destination.name": dlq.name}):
            backend.send(dlq.url, record["body"], attributes, group_id=group, dedup_id=dedup)
    except Exception as error:
        observe.log_loudly(
            "could not copy the poison message to the DLQ; it stays in its queue",
            queue=arn,
            message_id=message_id,
            job=job,
            error_type=type(error).__name__,
            error_message=str(error)[:500],
        )
        return Fate(Verdict.RETRY, fate.error, reason="DLQ send failed; left in the queue")
    return Fate(Verdict.DONE, fate.error, reason=fate.reason)


def send_next_hop(
    backend: SqsBackend, record: dict[str, Any], body: str, remaining: int, *, job: str, hop: int
) -> Fate:
    """Re-send a long-delayed job for its next hop (at most 900 s) and acknowledge this copy. A body over
    the queue's limit (a job that came as an S3 pointer) goes as a pointer again, to
    ``$SQS_LAMBDA_PAYLOAD_BUCKET``."""
    try:
        source = backend.queue_info(arn=rec.source_arn(record))
        attributes = rec.send_attributes(record)
        if attributes.pop("ExtendedPayloadSize", None) or attributes.pop("SQSLargePayloadSize", None):
            from ..wire import payloads

            body, extra = payloads.offload_if_large(body, source.max_message_size)
            attributes.update(extra)
        # a fair queue's tenant (its group id) goes with the next hop (hops are standard queues only)
        backend.send(source.url, body, attributes, delay=min(remaining, MAX_HOP_DELAY), group_id=rec.group_id(record))
    except Exception as error:
        observe.log_loudly(
            "could not re-send a delayed job for its next hop; it stays in the queue",
            message_id=rec.message_id(record),
            job=job,
            error_message=str(error)[:500],
        )
        return Fate(Verdict.RETRY, reason="delay hop failed")
    return Fate(Verdict.DONE, reason=f"deferred {remaining}s (hop {hop})")


def apply_backoff(backend: SqsBackend, outcomes: Iterable[tuple[Any, Fate]]) -> None:
    """One ChangeMessageVisibilityBatch per 10 retried (or FIFO-held) records, per source queue."""
    by_queue: dict[str, list[tuple[str, int]]] = {}
    for record, fate in outcomes:
        if fate.reported_failed and fate.visibility is not None and isinstance(record, dict):
            receipt = record.get("receiptHandle")
            if receipt:
                by_queue.setdefault(rec.source_arn(record), []).append((receipt, fate.visibility))
    for arn, changes in by_queue.items():
        try:
            failed = backend.change_visibility(backend.queue_info(arn=arn).url, changes)
        except Exception as error:
            observe.log_loudly(
                "could not set the backoff; the messages return after the queue's visibility timeout",
                queue=arn,
                error_message=str(error)[:500],
            )
            continue
        if failed:
            observe.log_loudly("some backoff changes failed", queue=arn, failed=failed)

"""Sending encoded messages: SendMessageBatch groups, the entries SQS failed retried, nothing dropped.

Contract: every message ends sent (its MessageId) or named in one :class:`~sqs_lambda.errors.SendError`
with its last error. A request that fails as a whole was already retried by botocore; the entries a
response lists in ``Failed`` without the sender's fault are retried here, with bounded backoff, except
those SQS refuses for their content. Groups go out on threads, except on FIFO queues (one sender keeps
a group's order). With OpenTelemetry on, each SendMessageBatch call is a ``send`` span.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import otel
from ..errors import SendError
from ..wire import envelope as wire
from .batching import NEVER_RETRIED, pack

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend

SEND_ATTEMPTS = 4


@dataclass(slots=True)
class Outgoing:
    """One encoded message, ready for a SendMessageBatch entry."""

    body: str
    attributes: dict[str, dict[str, Any]]
    envelope_id: str
    delay: int = 0
    group_id: str | None = None
    dedup_id: str | None = None
    size: int = 0

    def entry(self, entry_id: str) -> dict[str, Any]:
        entry: dict[str, Any] = {"Id": entry_id, "MessageBody": self.body}
        if self.attributes:
            entry["MessageAttributes"] = self.attributes
        if self.delay:
            entry["DelaySeconds"] = self.delay
        if self.group_id is not None:
            entry["MessageGroupId"] = self.group_id
        if self.dedup_id is not None:
            entry["MessageDeduplicationId"] = self.dedup_id
        return entry


def send_all(
    backend: SqsBackend, queue_url: str, messages: Sequence[Outgoing], *, concurrency: int, fifo: bool
) -> list[str]:
    """Send encoded messages in SendMessageBatch groups (threads for several, but never for FIFO); raise
    SendError naming every one that could not be sent."""
    groups = list(pack(messages))
    workers = min(concurrency, len(groups))
    active = otel.tracer()
    parent = otel.current_context() if active is not None else None  # the caller's, for sender threads
    if workers > 1 and not fifo:  # FIFO order within a group needs one sender
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(lambda group: send_traced(backend, queue_url, group, active, parent), groups))
    else:
        outcomes = [send_traced(backend, queue_url, group, active, parent) for group in groups]
    message_ids: list[str] = []
    unsent: list[dict[str, Any]] = []
    for sent, failed in outcomes:
        message_ids += sent
        unsent += failed
    if unsent:
        error = SendError(unsent)
        error.sent = [m for m in message_ids if m]  # type: ignore[attr-defined]
        raise error
    return message_ids


def send_traced(
    backend: SqsBackend, queue_url: str, group: Sequence[Outgoing], active: Any, parent: Any
) -> tuple[list[str], list[dict[str, Any]]]:
    """:func:`send_group`, as a ``send`` span when OpenTelemetry is on (see :mod:`sqs_lambda.otel`)."""
    if active is None:
        return send_group(backend, queue_url, group)
    with otel.send_span(active, queue_url.rsplit("/", 1)[-1], list(group), parent) as span:
        sent, unsent = send_group(backend, queue_url, group)
        if len(group) == 1 and sent:
            span.set_attribute("messaging.message.id", sent[0])
        if unsent:
            span.set_status(otel.error_status(f"{len(unsent)} of {len(group)} messages not sent"))
    return sent, unsent


def send_group(
    backend: SqsBackend, queue_url: str, group: Sequence[Outgoing]
) -> tuple[list[str], list[dict[str, Any]]]:
    """One batch (<= 10 entries, <= 1 MiB) with bounded retries of the entries SQS failed.

    One retry layer per call: a request that fails as a whole was already retried by botocore
    (standard mode, 4 attempts) and is final here; this loop retries only the entries a successful
    response lists in ``Failed`` without the sender's fault, which botocore cannot see.
    Every entry ends in exactly one of: sent (its MessageId), or unsent with its last error.
    """
    ids: dict[str, str] = {}
    pending = {str(i): message for i, message in enumerate(group)}
    failures: dict[str, dict[str, Any]] = {}  # the last error of each entry not sent (yet)
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            time.sleep(min(2.0, 0.05 * 2**attempt))
        try:
            response = backend.send_batch(queue_url, [m.entry(i) for i, m in pending.items()])
        except Exception as error:  # botocore's standard mode already retried the request: final
            failures.update(
                {
                    i: {"Id": i, "Code": type(error).__name__, "Message": str(error)[:300], "SenderFault": False}
                    for i in pending
                }
            )
            break
        for success in response.get("Successful", []):
            if success["Id"] in pending:
                ids[success["Id"]] = success["MessageId"]
                failures.pop(success["Id"], None)
        reported = {failure["Id"]: dict(failure) for failure in response.get("Failed", [])}
        retry_later: dict[str, Outgoing] = {}
        for entry_id, message in pending.items():
            if entry_id in ids:
                continue
            failure = reported.get(entry_id) or {
                "Id": entry_id,
                "Code": "MissingFromResponse",
                "Message": "SQS reported neither success nor failure",
                "SenderFault": False,
            }
            failures[entry_id] = failure
            # An entry SQS refuses for its content fails again, whatever SenderFault says (LocalStack
            # answers false): it is not retried.
            if not failure.get("SenderFault") and failure.get("Code") not in NEVER_RETRIED:
                retry_later[entry_id] = message
        pending = retry_later
        if not pending:
            break
    unsent = [
        {**failures[i], "Id": group[int(i)].envelope_id, "Job": job_of(group[int(i)])}
        for i in sorted(failures, key=int)
        if i not in ids
    ]
    return [ids[str(i)] for i in range(len(group)) if str(i) in ids], unsent


def job_of(message: Outgoing) -> str:
    attribute = message.attributes.get(wire.JOB_ATTRIBUTE, {})
    return str(attribute.get("StringValue", "(raw)"))

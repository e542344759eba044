"""Delivering a batch the way Lambda's SQS trigger does: the one place that does it.

Worker mode, ``sqs-lambda local``'s trigger and the test kit all go through here:
received messages -> Lambda records -> one invocation -> the response judged by Lambda's rules ->
the successes deleted. Lambda's rules for the response (:func:`judge_response`):

- no response, ``{}``, or an empty or null ``batchItemFailures``: every record succeeded;
- a list of ``{"itemIdentifier": id}`` with ids from the batch: those failed, the rest succeeded;
- anything else (not an object, a non-list, an empty or null id, an id not in the batch), an exception,
  a crash or a timeout: the whole batch failed, and nothing is deleted.

Failures are left in flight until their visibility timeout (or the backoff the function set).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..aws.sqs import SqsBackend
from ..wire import codec
from ..wire.records import from_message


@dataclass
class Judgement:
    """How Lambda reads one invocation: the ids to delete, the ids that failed, and why a batch failed
    whole. ``delete_failures`` are the deletes SQS refused (those records will be delivered again)."""

    succeeded: list[str]
    failed: list[str]
    whole_batch_failed: bool = False
    problem: str = ""
    delete_failures: list[dict[str, Any]] = field(default_factory=list)


class InvocationFailed(Exception):
    """The function did not return a response (a timeout, a crash, an init error): the batch failed."""


Invoke = Callable[[dict[str, Any]], Any]  # a Lambda event -> the function's response; raises when it failed


def judge_response(response: Any, batch_ids: Sequence[str]) -> Judgement:
    """Apply Lambda's partial-batch-response rules to ``response`` for a batch of ``batch_ids``."""
    ids = list(batch_ids)
    if response is None:
        return Judgement(ids, [])
    if not isinstance(response, dict):
        return Judgement([], ids, True, f"the response is a {type(response).__name__}, not an object")
    try:
        codec.dumps(response)
    except Exception:
        return Judgement([], ids, True, "the response is not JSON-serialisable")
    if "batchItemFailures" not in response:
        problem = ""
        if "statusCode" in response:
            problem = (
                "the response looks like an HTTP response ({statusCode, body}): Lambda ignores it "
                "and deletes every record"
            )
        return Judgement(ids, [], False, problem)
    failures = response["batchItemFailures"]
    if failures is None or failures == []:
        return Judgement(ids, [])
    if not isinstance(failures, list):
        return Judgement([], ids, True, "batchItemFailures is not a list")
    failed: list[str] = []
    known = set(ids)
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or not identifier:
            return Judgement([], ids, True, f"invalid batchItemFailures entry {item!r}")
        if identifier not in known:
            return Judgement([], ids, True, f"itemIdentifier {identifier!r} is not in the batch")
        failed.append(identifier)
    failed_set = set(failed)
    return Judgement([i for i in ids if i not in failed_set], [i for i in ids if i in failed_set])


def invoke_records(records: Sequence[Mapping[str, Any]], invoke: Invoke) -> Judgement:
    """One invocation with ``records`` as the event, judged. An exception is a failed invocation."""
    ids = [str(record["messageId"]) for record in records]
    try:
        response = invoke({"Records": list(records)})
    except InvocationFailed as failed:
        return Judgement([], ids, True, str(failed))
    except Exception as error:  # what Lambda reports as an unhandled error: the whole batch is retried
        return Judgement([], ids, True, f"the function raised {type(error).__name__}: {error}")
    return judge_response(response, ids)


def records_of(messages: Sequence[Mapping[str, Any]], arn: str) -> list[dict[str, Any]]:
    """Received messages (ReceiveMessage's shape) as the records of a Lambda event from ``arn``."""
    return [from_message(dict(message), arn=arn) for message in messages]


def deliver(records: Sequence[Mapping[str, Any]], *, queue_url: str, port: SqsBackend, invoke: Invoke) -> Judgement:
    """Deliver ``records`` (see :func:`records_of`) as one batch: one invocation, the judgement, and a
    delete of the records that succeeded."""
    judgement = invoke_records(records, invoke)
    if judgement.succeeded:
        receipts = {record["messageId"]: record["receiptHandle"] for record in records}
        judgement.delete_failures = port.delete(queue_url, [receipts[i] for i in judgement.succeeded])
    return judgement

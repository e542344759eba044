"""Emulation of Lambda's SQS trigger (event source mapping) against any SQS endpoint.

:class:`Trigger` polls a queue like Lambda's pollers do and invokes a handler with a Lambda-shaped
event, then applies the response by Lambda's rules (:func:`judge_response`):

- no response, ``{}``, or an empty/null ``batchItemFailures``: every record succeeded;
- a list of ``{"itemIdentifier": id}`` with ids from the batch: those failed, the rest succeeded;
- anything else (not an object, a non-list, an empty/null id, an id not in the batch), an exception,
  or running past the function's timeout: the whole batch failed.

Successes are deleted; failures are left in flight until their visibility timeout (or the backoff the
function set). Records that do not match ``FilterCriteria`` are deleted without invoking, as AWS does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqs_lambda import codec
from sqs_lambda.records import from_message as lambda_record
from sqs_lambda.sqs import SqsBackend
from sqs_lambda_dev.local.invocation import Function


@dataclass
class Judgement:
    """How Lambda would read a response: which ids to delete, and why a batch failed whole."""

    succeeded: list[str]
    failed: list[str]
    whole_batch_failed: bool = False
    problem: str = ""


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


class FilterCriteria:
    """Lambda's FilterCriteria: a record is kept when any pattern matches (none given: all kept)."""

    def __init__(self, patterns: Sequence[str | Mapping[str, Any]] = ()) -> None:
        from moto.events.models import EventPattern  # the EventBridge pattern engine moto ships

        self._patterns = [EventPattern.load(p if isinstance(p, str) else codec.dumps(p)) for p in patterns]

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def matches(self, record: Mapping[str, Any]) -> bool:
        if not self._patterns:
            return True
        view: dict[str, Any] = {
            "attributes": record.get("attributes", {}),
            "messageAttributes": record.get("messageAttributes", {}),
        }
        try:
            view["body"] = codec.loads(record.get("body", ""))
        except Exception:
            view["body"] = record.get("body", "")
        return any(pattern.matches_event(view) for pattern in self._patterns)  # type: ignore[arg-type]


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class MappingStats:
    invocations: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0
    filtered: int = 0
    whole_batch_failures: int = 0
    durations_ms: list[float] = field(default_factory=list)


@dataclass
class TriggerConfig:
    """One event source mapping, as the template declares it."""

    name: str
    queue_url: str
    queue_arn: str
    batch_size: int = 10
    window_seconds: float = 0.0
    max_concurrency: int = 2
    filters: FilterCriteria = field(default_factory=FilterCriteria)
    enabled: bool = True


class Trigger:
    """Polls one queue and invokes ``function`` like Lambda's SQS trigger. Thread-safe; one per mapping."""

    def __init__(
        self,
        config: TriggerConfig,
        function: Function,
        backend: SqsBackend,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config
        self.function = function
        self.backend = backend
        self.stats = MappingStats()
        self.on_event = on_event or (lambda kind, data: None)
        self._lock = threading.Lock()

    # -- one batch ----------------------------------------------------------------------------------

    def receive(self, wait_seconds: float = 1.0) -> list[dict[str, Any]]:
        """Gather up to BatchSize messages, waiting up to the batching window (long polls)."""
        config = self.config
        messages: list[dict[str, Any]] = []
        deadline = time.monotonic() + max(config.window_seconds, 0.0)
        first = True
        while len(messages) < config.batch_size:
            remaining = deadline - time.monotonic()
            wait = wait_seconds if first else max(0.0, min(remaining, 20.0))
            got = self.backend.receive(
                config.queue_url, max_messages=min(10, config.batch_size - len(messages)), wait_seconds=wait
            )
            # A message whose visibility ran out during the window comes back: keep one copy, the newest
            # receipt (only a template below the 6 x timeout + window rule lets that happen).
            ids = {m["MessageId"]: i for i, m in enumerate(messages)}
            for message in got:
                if message["MessageId"] in ids:
                    messages[ids[message["MessageId"]]] = message
                else:
                    messages.append(message)
            first = False
            if not got and (not messages or remaining <= 0):
                break
            if remaining <= 0:
                break
        return messages

    def deliver(self, messages: list[dict[str, Any]]) -> Judgement | None:
        """Filter, invoke and apply the response for one received batch. Returns the judgement (None if
        every record was filtered out)."""
        records = [lambda_record(m, arn=self.config.queue_arn) for m in messages]
        receipts = {r["messageId"]: r["receiptHandle"] for r in records}
        if self.config.filters:
            kept = [r for r in records if self.config.filters.matches(r)]
            dropped = [r["messageId"] for r in records if r not in kept]
            if dropped:
                self._delete(dropped, receipts)
                with self._lock:
                    self.stats.filtered += len(dropped)
                self.on_event("filtered", {"mapping": self.config.name, "count": len(dropped)})
            records = kept
        if not records:
            return None
        judgement = self.invoke(records)
        if judgement.succeeded:
            self._delete(judgement.succeeded, receipts)
        return judgement

    def invoke(self, records: list[dict[str, Any]]) -> Judgement:
        """Invoke the function (bounded by its timeout, as Lambda does) and judge the response."""
        ids = [r["messageId"] for r in records]
        outcome = self.function.invoke({"Records": records})
        elapsed_ms = outcome.duration_ms
        if outcome.timed_out:
            judgement = Judgement([], ids, True, f"the function timed out after {self.function.timeout:g}s")
        elif outcome.error:
            judgement = Judgement([], ids, True, f"the function failed: {outcome.error}")
        else:
            judgement = judge_response(outcome.response, ids)
        with self._lock:
            stats = self.stats
            stats.invocations += 1
            stats.records += len(ids)
            stats.succeeded += len(judgement.succeeded)
            stats.failed += len(judgement.failed)
            stats.whole_batch_failures += int(judgement.whole_batch_failed)
            stats.durations_ms.append(elapsed_ms)
        self.on_event(
            "invoke",
            {
                "mapping": self.config.name,
                "function": self.function.name,
                "records": len(ids),
                "succeeded": len(judgement.succeeded),
                "failed": len(judgement.failed),
                "duration_ms": round(elapsed_ms, 2),
                "problem": judgement.problem,
            },
        )
        return judgement

    def _delete(self, ids: Sequence[str], receipts: Mapping[str, str]) -> None:
        for failed in self.backend.delete(self.config.queue_url, [receipts[i] for i in ids]):
            self.on_event(
                "error",
                {
                    "mapping": self.config.name,
                    "error": f"delete failed ({failed.get('Code')}): the record will be delivered again",
                },
            )

    # -- the poller ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Poll until ``stop`` is set, with at most MaximumConcurrency invocations at once."""
        slots = threading.BoundedSemaphore(max(1, self.config.max_concurrency))
        workers: list[threading.Thread] = []

        def work(batch: list[dict[str, Any]]) -> None:
            try:
                self.deliver(batch)
            except Exception as error:  # an endpoint hiccup: records return after their visibility timeout
                self.on_event("error", {"mapping": self.config.name, "error": str(error)})
            finally:
                slots.release()

        while not stop.is_set():
            if not slots.acquire(timeout=0.2):
                continue
            try:
                batch = self.receive(wait_seconds=1.0)
            except Exception as error:
                slots.release()
                self.on_event("error", {"mapping": self.config.name, "error": str(error)})
                stop.wait(1.0)
                continue
            if not batch:
                slots.release()
                continue
            if stop.is_set():  # received while stopping: leave them for redelivery, untouched
                slots.release()
                break
            thread = threading.Thread(target=work, args=(batch,), daemon=True)
            workers = [w for w in workers if w.is_alive()] + [thread]
            thread.start()
        for worker in workers:  # in-flight invocations finish (bounded by the function timeout)
            worker.join(self.function.timeout + 1)

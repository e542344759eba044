"""Emulation of Lambda's SQS trigger (event source mapping) against any SQS endpoint.

:class:`Trigger` polls a queue like Lambda's pollers do: it gathers a batch (``BatchSize``, the batching
window), deletes the records that do not match ``FilterCriteria`` without invoking, as AWS does, and
hands the rest to :mod:`sqs_lambda.consuming.delivery`, which invokes the function and applies its response by
Lambda's rules; at most ``MaximumConcurrency`` invocations are in flight. A timeout, a crash or an init
error fails the whole batch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqs_lambda.aws.sqs import SqsBackend
from sqs_lambda.consuming import delivery
from sqs_lambda.consuming.delivery import Judgement
from sqs_lambda.producing.queues import name_of_url
from sqs_lambda.wire import codec
from sqs_lambda_dev.local.invocation import Function, Outcome
from sqs_lambda_dev.local.ledger import Ledger, lineage_of

if TYPE_CHECKING:
    from sqs_lambda_dev.local.chaos import Chaos
    from sqs_lambda_dev.local.sources import SourceSetup


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
        *,
        chaos: Chaos | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self.config = config
        self.function = function
        self.backend = backend
        self.chaos, self.ledger = chaos, ledger
        self.port = chaos.port(backend) if chaos is not None else backend  # receives and deletes
        self.stats = MappingStats()
        self.on_event = on_event or (lambda kind, data: None)
        self._lock = threading.Lock()
        self.in_flight = 0  # batches being delivered now

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
            got = self.port.receive(
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
        records = delivery.records_of(messages, self.config.queue_arn)
        if self.config.filters:
            kept = [r for r in records if self.config.filters.matches(r)]
            dropped = [r["receiptHandle"] for r in records if r not in kept]
            if dropped:
                self._report_delete_failures(self.backend.delete(self.config.queue_url, dropped))
                with self._lock:
                    self.stats.filtered += len(dropped)
                self.on_event("filtered", {"mapping": self.config.name, "count": len(dropped)})
            records = kept
        if not records:
            return None
        outcomes: list[Outcome] = []

        def invoke(event: dict[str, Any]) -> Any:
            outcome = self.function.invoke(event)  # bounded by the function's timeout, as in Lambda
            outcomes.append(outcome)
            if outcome.timed_out:
                raise delivery.InvocationFailed(f"the function timed out after {self.function.timeout:g}s")
            if outcome.error:
                raise delivery.InvocationFailed(f"the function failed: {outcome.error}")
            return outcome.response

        judgement = delivery.deliver(records, queue_url=self.config.queue_url, port=self.port, invoke=invoke)
        if self.ledger is not None:
            self.ledger.saw(records, judgement.succeeded)
        self._report_delete_failures(judgement.delete_failures)
        self._count(judgement, outcomes[0].duration_ms if outcomes else 0.0)
        self._report_attempts(records, judgement, outcomes[0] if outcomes else Outcome())
        return judgement

    def _report_attempts(self, records: Sequence[Mapping[str, Any]], judgement: Judgement, outcome: Outcome) -> None:
        """One ``attempt`` event per record, keyed by its job's lineage (the envelope id): the job
        inspector's timelines are made of them. Arguments are not part of it."""
        succeeded = set(judgement.succeeded)
        queue = name_of_url(self.config.queue_url)
        for record in records:
            lineage, job = lineage_of(record)
            attributes = record.get("attributes") or {}
            self.on_event(
                "attempt",
                {
                    "envelope_id": lineage,
                    "job": job,
                    "message_id": record.get("messageId"),
                    "queue": queue,
                    "mapping": self.config.name,
                    "function": self.function.name,
                    "request_id": outcome.request_id,
                    "receive_count": int(attributes.get("ApproximateReceiveCount") or 0),
                    "sent_at": int(attributes.get("SentTimestamp") or 0) / 1000,
                    "duration_ms": round(outcome.duration_ms, 2),
                    "outcome": "succeeded" if record.get("messageId") in succeeded else "failed",
                    "problem": judgement.problem,
                },
            )

    def _count(self, judgement: Judgement, elapsed_ms: float) -> None:
        records = len(judgement.succeeded) + len(judgement.failed)
        with self._lock:
            stats = self.stats
            stats.invocations += 1
            stats.records += records
            stats.succeeded += len(judgement.succeeded)
            stats.failed += len(judgement.failed)
            stats.whole_batch_failures += int(judgement.whole_batch_failed)
            stats.durations_ms.append(elapsed_ms)
        self.on_event(
            "invoke",
            {
                "mapping": self.config.name,
                "function": self.function.name,
                "records": records,
                "succeeded": len(judgement.succeeded),
                "failed": len(judgement.failed),
                "duration_ms": round(elapsed_ms, 2),
                "problem": judgement.problem,
            },
        )

    def _report_delete_failures(self, failures: Sequence[Mapping[str, Any]]) -> None:
        for failed in failures:
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
            kill = None
            try:
                if self.chaos is not None:
                    self.chaos.before_batch(self.config.name, self.config.queue_url, self.backend, batch)
                    kill = self.chaos.kill_during(self.config.name, self.function.kill_busy, self.function.timeout)
                self.deliver(batch)
            except Exception as error:  # an endpoint hiccup: records return after their visibility timeout
                self.on_event("error", {"mapping": self.config.name, "error": str(error)})
            finally:
                if kill is not None:
                    kill.cancel()
                with self._lock:
                    self.in_flight -= 1
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
            with self._lock:
                self.in_flight += 1
            thread = threading.Thread(target=work, args=(batch,), daemon=True)
            workers = [w for w in workers if w.is_alive()] + [thread]
            thread.start()
        for worker in workers:  # in-flight invocations finish (bounded by the function timeout)
            worker.join(self.function.timeout + 1)


class SqsSource:
    """The template's SQS event source mappings of local functions, one :class:`Trigger` each."""

    serves_at_start = False

    def __init__(self, triggers: dict[str, Trigger]) -> None:
        self.triggers = triggers
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_template(cls, setup: SourceSetup) -> SqsSource | None:
        template, resources = setup.template, setup.resources
        triggers: dict[str, Trigger] = {}
        for name, properties, queue, function in template.event_source_mappings():
            if queue not in resources.queue_urls or function is None or function not in setup.functions:
                setup.on_event("warning", {"message": f"{name}: not an SQS mapping of a local function; skipped"})
                continue
            if str(template.resolve(properties.get("Enabled", True))).lower() == "false":
                continue
            scaling = template.resolve(properties.get("ScalingConfig")) or {}
            # Provisioned mode: at most MaximumPollers receives at once (AWS takes it or MaximumConcurrency).
            provisioned = template.resolve(properties.get("ProvisionedPollerConfig")) or {}
            filters = (template.resolve(properties.get("FilterCriteria")) or {}).get("Filters") or []
            config = TriggerConfig(
                name=name,
                queue_url=resources.queue_urls[queue],
                queue_arn=resources.queue_arns[queue],
                batch_size=int(template.resolve(properties.get("BatchSize")) or 10),
                window_seconds=float(template.resolve(properties.get("MaximumBatchingWindowInSeconds")) or 0),
                max_concurrency=int(provisioned.get("MaximumPollers") or scaling.get("MaximumConcurrency") or 2),
                filters=FilterCriteria([f["Pattern"] for f in filters if isinstance(f, dict) and "Pattern" in f]),
            )
            triggers[name] = Trigger(
                config, setup.functions[function], setup.backend, setup.on_event, chaos=setup.chaos, ledger=setup.ledger
            )
        return cls(triggers) if triggers else None

    def start(self, stop: threading.Event) -> None:
        for trigger in self.triggers.values():
            thread = threading.Thread(target=trigger.run, args=(stop,), daemon=True, name=f"poll-{trigger.config.name}")
            thread.start()
            self._threads.append(thread)

    def busy(self) -> bool:
        return any(trigger.in_flight for trigger in self.triggers.values())

    def stats(self) -> dict[str, Any]:
        return {
            name: {key: value for key, value in vars(trigger.stats).items() if key != "durations_ms"}
            for name, trigger in self.triggers.items()
        }

    def stop(self, timeout: float) -> None:
        for thread in self._threads:
            thread.join(timeout=timeout)

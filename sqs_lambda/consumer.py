"""The consumer: an SQS batch through Powertools' batch processor, with our failure policy.

:meth:`Consumer.handle` is what ``router.lambda_handler`` runs. Its contract, by Lambda's rules:

- It returns ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}`` naming only ids from the batch,
  each at most once and never empty. Every record failing returns every id (the default) or raises
  ``BatchProcessingError`` with ``Router(raise_on_entire_batch_failure=True)``.
- FIFO (source ARN ending ``.fifo``): after the first failure, the failed record and every later record
  are reported (or, with ``fifo_skip_group_on_error``, only the later records of the same group). The
  failed group's later records get the failed record's backoff, so the group returns together, in
  order; records of other groups are released at once (visibility 0).
- The time cut-off (:mod:`sqs_lambda.cutoff`): before each record after the first, if the remaining
  time is below the batch's margin (``time_margin_ms``, at most a quarter of the time the batch started
  with), it stops and reports the records not started, without backoff, and logs one WARNING.
- Failures are decided by :mod:`sqs_lambda.policy` and carried out by :mod:`sqs_lambda.effects`:
  backoff via one ChangeMessageVisibilityBatch per 10 records, poison messages copied to the DLQ and
  then acknowledged. If the copy fails the record is reported failed instead: nothing is lost.
- An event without ``Records`` is a direct invocation: it goes to the raw routes (EventBridge events).
  ``Records: []`` and malformed events never raise.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.batch import BasePartialBatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from . import envelope as wire
from . import observe
from . import records as rec
from .context import INVOCATION
from .cutoff import TimeCutoff
from .errors import ConfigurationError, MessageError, NoRouteError
from .invoke import Hooks, drive, invoke, invoke_now
from .policy import DONE, Fate, JobPolicy, Verdict, decide, skipped

if TYPE_CHECKING:
    from .dispatch import Call, Dispatcher
    from .sqs import SqsBackend


def _now() -> _dt.datetime:
    """The clock long delays are measured with (tests replace it to compress time)."""
    return _dt.datetime.now(_dt.UTC)


class ConsumerSettings:
    """How a batch is consumed (a value object; :class:`~sqs_lambda.Router` documents each setting)."""

    __slots__ = (
        "default_policy",
        "fifo_skip_group_on_error",
        "keep_payloads",
        "max_concurrency",
        "raise_on_entire_batch_failure",
        "time_margin_ms",
    )

    def __init__(
        self,
        default_policy: JobPolicy,
        *,
        raise_on_entire_batch_failure: bool = False,
        fifo_skip_group_on_error: bool = False,
        time_margin_ms: int = 3_000,
        max_concurrency: int = 10,
        keep_payloads: bool = False,
    ) -> None:
        if max_concurrency < 1:
            raise ConfigurationError("max_concurrency must be at least 1")
        if time_margin_ms < 0:
            raise ConfigurationError("time_margin_ms must be >= 0")
        self.default_policy = default_policy
        self.raise_on_entire_batch_failure = raise_on_entire_batch_failure
        self.fifo_skip_group_on_error = fifo_skip_group_on_error
        self.time_margin_ms = time_margin_ms
        self.max_concurrency = max_concurrency
        self.keep_payloads = keep_payloads


class Consumer:
    """Consumes SQS batches for a dispatcher: ``handle(event, context)`` is the Lambda handler."""

    def __init__(self, dispatcher: Dispatcher, settings: ConsumerSettings, backend: SqsBackend | None = None) -> None:
        self.dispatcher = dispatcher
        self.settings = settings
        self._backend = backend
        self._default: SqsBackend | None = None

    @property
    def backend(self) -> SqsBackend:
        """The SQS port the effects go through; boto3's defaults unless set (built on first use)."""
        return self.backend_for(None)

    @backend.setter
    def backend(self, backend: SqsBackend) -> None:
        self._backend = backend

    def backend_for(self, context: Any) -> SqsBackend:
        """The port for one invocation: the one this consumer was given; else the one the invocation's
        context carries (``sqs_backend``: the test kit's in-memory queue, so a unit test never reaches
        AWS); else boto3's defaults (built on first use)."""
        if self._backend is not None:
            return self._backend
        carried = getattr(context, "sqs_backend", None)
        if carried is not None:
            return cast("SqsBackend", carried)
        if self._default is None:
            from .sqs import default_backend

            self._default = default_backend()
        return self._default

    def handle(self, event: Any, context: Any = None, *, port: SqsBackend | None = None) -> dict[str, Any]:
        """Handle one Lambda invocation (see the module docstring). ``port``, when given, is the SQS port
        of this invocation's effects (worker mode passes its heartbeat-aware one)."""
        if not isinstance(event, dict):
            observe.log_loudly("the event is not an object; nothing to process", event_type=type(event).__name__)
            return {"batchItemFailures": []}
        records = event.get("Records")
        if records is None:
            return self._handle_direct(event)
        if not isinstance(records, list) or not records:
            return {"batchItemFailures": []}
        first = next((r for r in records if isinstance(r, dict)), {})
        processor = JobBatchProcessor(self, fifo=rec.is_fifo_arn(rec.source_arn(first)), port=port)
        invocation = INVOCATION.set(context)
        try:
            with processor(records, handler=self.dispatcher.prepare, lambda_context=context):
                processor.process()
        except BatchProcessingError:
            raise  # asked for with raise_on_entire_batch_failure=True
        except Exception as error:  # a bug of ours must not fail the invocation: retry every record
            observe.log_loudly(
                "the batch could not be processed; every record is reported failed",
                error_type=type(error).__name__,
                error_message=str(error)[:500],
            )
            ids = dict.fromkeys(i for i in map(rec.message_id, records) if i is not None)
            return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
        finally:
            INVOCATION.reset(invocation)
        return processor.response()  # type: ignore[return-value]

    def _handle_direct(self, event: dict[str, Any]) -> dict[str, Any]:
        """A direct invocation (e.g. an EventBridge rule targeting the function): run the matching raw route.

        A matching handler's exception propagates, so Lambda's async retries apply. No match is logged.
        """
        try:
            call = self.dispatcher.raw_call(wire.RawBody(event), None)
        except NoRouteError as error:
            observe.log_loudly(
                "a direct invocation matched no raw route",
                reason=error.reason,
                keys=sorted(str(k) for k in event)[:20],
            )
            return {"batchItemFailures": []}
        failure = invoke_now(call)
        if failure is not None:
            raise failure
        return {"batchItemFailures": []}


class JobBatchProcessor(BasePartialBatchProcessor):
    """Powertools' partial batch processor, specialised for routed jobs, FIFO and the time cut-off.

    ``handler`` (Powertools' record handler) is the dispatcher's ``prepare``: it turns a record into a
    call. Outcomes are kept once, in Powertools' own lists (``success_messages``, ``fail_messages``,
    ``exceptions``), and the response is built from them.
    """

    def __init__(self, consumer: Consumer, *, fifo: bool, port: SqsBackend | None = None) -> None:
        settings = consumer.settings
        super().__init__(EventType.SQS, raise_on_entire_batch_failure=settings.raise_on_entire_batch_failure)
        self.settings = settings
        self.dispatcher = consumer.dispatcher
        self.consumer = consumer
        self.fifo = fifo
        self.lambda_context = None  # type: ignore[assignment]  # Powertools sets it only when given one
        self.metrics = observe.BatchMetrics()
        self.hooks = Hooks(self.metrics, observe.tracing_enabled(), port=lambda: self.backend)
        self.payloads_done: list[Any] = []  # S3 pointers of the jobs that succeeded
        self.cutoff = TimeCutoff(None, settings.time_margin_ms)  # set again per batch, with its context
        self.port = port

    @property
    def backend(self) -> SqsBackend:
        """This batch's SQS port: the one passed in, else the consumer's choice (see ``backend_for``)."""
        return self.port or self.consumer.backend_for(self.lambda_context)

    # -- Powertools hooks ---------------------------------------------------------------------------

    def process(self) -> list[tuple[str, Any, Any]]:
        """Run every record in order; returns Powertools' ``(status, fate, record)`` tuples."""
        records: Sequence[Any] = self.records
        fates = [DONE] * len(records)
        self.cutoff = TimeCutoff(self.lambda_context, self.settings.time_margin_ms)
        pending_async = drive(self._run_in_order(records, fates))
        if pending_async:
            self._run_concurrently(pending_async, fates)
        if self.payloads_done:
            self._delete_payloads()
        if any(fate is not DONE for fate in fates):
            from . import effects  # imported on the first failure: a lighter cold start

            effects.apply_backoff(self.backend, zip(records, fates, strict=True))
            outcomes = [self._bookkeep(record, fate) for record, fate in zip(records, fates, strict=True)]
        else:  # the common case, kept cheap: every record succeeded
            self.success_messages.extend(records)
            outcomes = [("success", DONE, record) for record in records]
        self.metrics.flush()
        if self.cutoff.cut and not self.cutoff.stopping:
            observe.log_warning(
                f"time cut-off: {self.cutoff.cut} record(s) not started, returned to the queue", **self.cutoff.summary()
            )
        return outcomes

    def _process_record(self, record: dict[str, Any]) -> tuple[str, Any, Any]:
        """Powertools' per-record hook: one record on its own, through the same path as a batch."""
        fate = drive(self._record_fate(record, in_loop=False))
        if self.payloads_done:
            self._delete_payloads()
        if fate is not DONE:
            from . import effects  # imported on the first failure: a lighter cold start

            effects.apply_backoff(self.backend, [(record, fate)])
        return self._bookkeep(record, fate)

    async def _async_process_record(self, record: dict[str, Any]) -> tuple[str, Any, Any]:
        """The same, inside an event loop (Powertools' async processors call this)."""
        fate = await self._record_fate(record, in_loop=True)
        if self.payloads_done:
            self._delete_payloads()
        if fate is not DONE:
            from . import effects  # imported on the first failure: a lighter cold start

            effects.apply_backoff(self.backend, [(record, fate)])
        return self._bookkeep(record, fate)

    def _delete_payloads(self) -> None:
        """Delete the S3 objects of jobs that succeeded (unless ``keep_payloads``). A failure here fails
        no record: the object expires by the bucket's lifecycle rule."""
        done, self.payloads_done = self.payloads_done, []
        if not self.settings.keep_payloads:
            from . import payloads

            payloads.delete_quietly(done)

    def _clean(self) -> None:
        """The response, from the failures kept in ``fail_messages`` (each id once, never empty)."""
        seen: set[str] = set()
        failures: list[dict[str, str]] = []
        for record in self.fail_messages:
            message_id = rec.message_id(record)
            if message_id is None:
                observe.log_loudly("a failed record has no messageId and cannot be reported")
            elif message_id not in seen:
                seen.add(message_id)
                failures.append({"itemIdentifier": message_id})
        if failures and len(failures) == len(self.records) and self.raise_on_entire_batch_failure:
            raise BatchProcessingError(
                msg=f"All {len(failures)} records failed processing.", child_exceptions=self.exceptions
            )
        self.batch_response = {"batchItemFailures": failures}  # type: ignore[typeddict-item]

    def _bookkeep(self, record: Any, fate: Fate) -> tuple[str, Any, Any]:
        """Keep one outcome in Powertools' lists (its own success and failure handlers)."""
        if fate.reported_failed:
            error = fate.error
            info = (type(error), error, error.__traceback__) if error is not None else (None, None, None)
            return self.failure_handler(record, info)
        return self.success_handler(record, fate)

    # -- the batch, in order ------------------------------------------------------------------------

    async def _run_in_order(self, records: Sequence[Any], fates: list[Fate]) -> list[tuple[int, Call]]:
        """Prepare and run each record in turn (a coroutine that never suspends: see ``invoke.drive``).

        Returns the ``async def`` jobs of a standard queue, to be run concurrently afterwards."""
        count = len(records)
        pending_async: list[tuple[int, Call]] = []
        # FIFO: a failed group's next visibility. Its later records share it, so the whole group
        # returns together after the backoff (SQS blocks a group while any of it is in flight).
        blocked_groups: dict[str | None, int | None] = {}
        fifo = self.fifo
        skip_group_only = self.settings.fifo_skip_group_on_error
        may_start = self.cutoff.may_start
        prepare, hooks = self._prepare_record, self.hooks
        for index, record in enumerate(records):
            if fifo and blocked_groups:
                group = rec.group_id(record) if isinstance(record, dict) else None
                if group in blocked_groups:
                    fates[index] = skipped("an earlier message of its FIFO group failed", blocked_groups[group])
                    continue
                if not skip_group_only:  # not at fault: release it at once
                    fates[index] = skipped("an earlier message of the FIFO batch failed", 0)
                    continue
            if not may_start():
                for rest in range(index, count):
                    fates[rest] = self._cut_off()
                break
            call = prepare(record)
            if call.__class__ is Fate:
                fate: Fate = call
            elif call.is_async and not fifo:  # type: ignore[union-attr]
                pending_async.append((index, call))  # type: ignore[arg-type]
                continue
            else:
                error = await invoke(call, record, hooks, in_loop=False)  # type: ignore[arg-type]
                if error is None:
                    if call.payload is not None:  # type: ignore[union-attr]
                        self.payloads_done.append(call.payload)  # type: ignore[union-attr]
                    continue
                fate = self._failed(record, call, error, rec.receive_count(record))  # type: ignore[arg-type]
            if fate is not DONE:
                fates[index] = fate
                if fifo and fate.reported_failed:
                    blocked_groups[rec.group_id(record)] = fate.visibility
        return pending_async

    async def _record_fate(self, record: Any, *, in_loop: bool) -> Fate:
        """One record, start to end: prepare, run, and the failure policy."""
        call = self._prepare_record(record)
        if call.__class__ is Fate:
            return call
        error = await invoke(call, record, self.hooks, in_loop=in_loop)  # type: ignore[arg-type]
        if error is None and call.payload is not None:  # type: ignore[union-attr]
            self.payloads_done.append(call.payload)  # type: ignore[union-attr]
        return DONE if error is None else self._failed(record, call, error, rec.receive_count(record))  # type: ignore[arg-type]

    def _run_concurrently(self, pending: list[tuple[int, Call]], fates: list[Fate]) -> None:
        """Run ``async def`` jobs of a standard-queue batch, at most ``max_concurrency`` at once."""

        async def run_one(semaphore: asyncio.Semaphore, index: int, call: Call) -> None:
            async with semaphore:
                if not self.cutoff.may_start():
                    fates[index] = self._cut_off()
                    return
                record = self.records[index]
                error = await invoke(call, record, self.hooks)
                if error is not None:
                    fates[index] = self._failed(record, call, error, rec.receive_count(record))
                elif call.payload is not None:
                    self.payloads_done.append(call.payload)

        async def run_all() -> None:
            semaphore = asyncio.Semaphore(self.settings.max_concurrency)
            await asyncio.gather(*(run_one(semaphore, index, call) for index, call in pending))

        try:
            asyncio.run(run_all())
        except Exception as error:  # no event loop could run them (e.g. one already runs here)
            for index, call in pending:
                if fates[index] is DONE:
                    record = self.records[index]
                    fates[index] = self._failed(record, call, error, rec.receive_count(record))

    # -- one record ---------------------------------------------------------------------------------

    def _cut_off(self) -> Fate:
        """A record not started for lack of time; a stopping worker (its context says ``stopping``)
        releases it at once, for another worker to take."""
        if self.cutoff.stopping:
            return skipped("the worker is stopping", 0)
        self.cutoff.cut += 1
        return skipped("Lambda time is running out (time cut-off)")

    def _prepare_record(self, record: Any) -> Call | Fate:
        """Decode and route (Powertools' record handler: the dispatcher's ``prepare``); a record that
        cannot be called gets its fate here."""
        if record.__class__ is not dict:
            return self._failed(record, None, NoRouteError("the record is not an object"), 1)
        try:
            call: Call = self.handler(record)
        except MessageError as error:  # named now, off the hot path
            error.for_message(rec.message_id(record) or "(no messageId)")
            return self._failed(record, None, error, rec.receive_count(record))
        except Exception as error:  # a decoder bug must not escape: the record stays in the queue
            return self._failed(record, None, error, rec.receive_count(record))
        envelope = call.envelope
        if envelope is not None and envelope.not_before is not None:
            early = self._defer_if_early(record, call, envelope)
            if early is not None:
                return early
        return call

    def _failed(self, record: Any, call: Call | None, error: BaseException, attempt: int) -> Fate:
        policy: JobPolicy = call.policy if call is not None and call.policy else self.settings.default_policy
        decided = decide(error, attempt, policy)
        job = call.name if call is not None else getattr(error, "job", None)
        fate = decided
        if decided.verdict == Verdict.DEAD_LETTER:
            from . import effects  # imported on the first failure: a lighter cold start

            fate = effects.copy_to_dlq(self.backend, record, decided, job, attempt)
        logged = decided if fate.verdict == Verdict.DONE else fate
        self.metrics.count(job or "-", "failed")
        if fate.verdict == Verdict.DONE:
            self.metrics.count(job or "-", "dead_lettered")
        elif fate.verdict == Verdict.RETRY:
            self.metrics.count(job or "-", "retried")
        observe.log_outcome(
            logged,
            job=job,
            message_id=rec.message_id(record),
            attempt=attempt,
            context=call.context if call else None,
            arguments=call.kwargs if call else None,
        )
        return fate

    def _defer_if_early(self, record: dict[str, Any], call: Call, envelope: wire.Envelope) -> Fate | None:
        """A long delay (> 900 s) not yet due: re-send it for the next hop and acknowledge this copy."""
        not_before = envelope.not_before_time()
        now = _now()
        if not_before is None or not_before <= now:
            return None
        remaining = max(1, int((not_before - now).total_seconds() + 0.999))
        if self.fifo:  # FIFO has no per-message delay: hold the message (and, by SQS's rule, its group)
            return Fate(Verdict.RETRY, visibility=min(remaining, 43_200), reason="not due yet")
        body = wire.rehop(envelope, self.dispatcher.hop_signer())
        from . import effects  # imported on the first failure: a lighter cold start

        return effects.send_next_hop(self.backend, record, body, remaining, job=call.name, hop=envelope.hops + 1)

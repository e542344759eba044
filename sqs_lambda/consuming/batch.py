"""One SQS batch through the router: one pipeline for every record, one settling, one answer.

Contract (by Lambda's rules):

- Records run in order. Each is prepared (:meth:`Batch.prepare`: decoded, routed, validated by the
  dispatcher), invoked (the one place: :mod:`sqs_lambda.consuming.invoke`) and settled (:meth:`Batch.settle`:
  done, or the failure policy); a success with nothing to settle skips the call.
  ``async def`` jobs of a standard queue run concurrently afterwards, at most ``max_concurrency`` at once.
- FIFO (source ARN ending ``.fifo``): after the first failure, the failed record and every later record
  are reported (or, with ``fifo_skip_group_on_error``, only the later records of the same group). The
  failed group's later records get the failed record's backoff, so the group returns together, in
  order; records of other groups are released at once (visibility 0).
- The time cut-off (:mod:`sqs_lambda.consuming.cutoff`): before each record after the first, if the remaining
  time is below the batch's margin (``time_margin_ms``, at most a quarter of the time the batch started
  with), it stops and reports the records not started, without backoff, and logs one WARNING.
- Failures are decided by :mod:`sqs_lambda.consuming.policy` and carried out by :mod:`sqs_lambda.consuming.effects`:
  backoff via one ChangeMessageVisibilityBatch per 10 records, poison messages copied to the DLQ and
  then acknowledged. If the copy fails the record is reported failed instead: nothing is lost.
- The answer names only ids from the batch, each at most once and never empty.
- Middleware (:mod:`sqs_lambda.middleware`) sees each invoked record: before its job, and once settled.
- With OpenTelemetry on (:mod:`sqs_lambda.otel`), each record is a ``process`` span, current while the
  record is worked on, ended with its outcome.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import observe, otel, settings
from ..errors import ConfigurationError, MessageError, NoRouteError
from ..middleware import JobRun, Middleware, Outcome, run_after
from ..wire import envelope as wire
from ..wire import records as rec
from .cutoff import TimeCutoff
from .invoke import Hooks, drive, invoke
from .policy import DONE, Attempt, Fate, JobPolicy, Verdict, decide, skipped
from .spans import NO_SCOPE, end_record_span, traced_records

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend
    from ..call import Call
    from .dispatch import Dispatcher


def _now() -> _dt.datetime:
    """The clock long delays and ages are measured with (tests replace it to compress time), off by
    ``SQS_LAMBDA_CLOCK_SKEW`` seconds when that is set (``sqs-lambda local --chaos skew=...``)."""
    skew = settings.current().clock_skew
    now = _dt.datetime.now(_dt.UTC)
    return now + _dt.timedelta(seconds=skew) if skew else now


def _age(call: Call | None, record: Any) -> float | None:
    """Seconds since the job was first sent: its envelope's ``sent_at`` (kept across hops and redrives),
    else SQS's ``SentTimestamp``; None when neither is readable."""
    sent: _dt.datetime | None = None
    stamp = call.envelope.sent_at if call is not None and call.envelope is not None else None
    if isinstance(stamp, str):
        try:
            sent = _dt.datetime.fromisoformat(stamp)
        except ValueError:
            sent = None
    if sent is None and isinstance(record, dict):
        millis = (record.get("attributes") or {}).get("SentTimestamp")
        if isinstance(millis, str) and millis.isdigit():
            sent = _dt.datetime.fromtimestamp(int(millis) / 1000, _dt.UTC)
    if sent is None:
        return None
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=_dt.UTC)
    return (_now() - sent).total_seconds()


class ConsumerSettings:
    """How a batch is consumed (a value object; :class:`~sqs_lambda.Router` documents each setting)."""

    __slots__ = (
        "default_policy",
        "fifo_skip_group_on_error",
        "keep_payloads",
        "max_concurrency",
        "middleware",
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
        middleware: tuple[Middleware, ...] = (),
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
        self.middleware = middleware


class Batch:
    """One invocation's records, run in order (FIFO rules, the cut-off), then settled and answered."""

    def __init__(
        self,
        settings: ConsumerSettings,
        dispatcher: Dispatcher,
        records: Sequence[Any],
        context: Any,
        port: SqsBackend | Callable[[], SqsBackend],
    ) -> None:
        """``port``: the batch's SQS port, or how to get it (resolved on first use: the success path
        never builds a client)."""
        self.settings, self.dispatcher = settings, dispatcher
        self.records, self.context, self._port = records, context, port
        first = next((r for r in records if isinstance(r, dict)), {})
        self.fifo = rec.is_fifo_arn(rec.source_arn(first))
        self.fates: list[Fate] = [DONE] * len(records)
        self.cutoff = TimeCutoff(context, self.settings.time_margin_ms)
        self.metrics = observe.BatchMetrics()
        self.middleware = self.settings.middleware
        self.hooks = Hooks(
            self.metrics, observe.tracing_enabled(), port=lambda: self.backend, middleware=self.middleware
        )
        self.payloads_done: list[Any] = []  # S3 pointers of the jobs that succeeded
        active = otel.tracer()  # None unless OpenTelemetry is on: then nothing below is used
        self.spans = otel.RecordSpans(active, rec.source_arn(first).rpartition(":")[2]) if active is not None else None
        self.open_spans: dict[int, Any] = {}  # record index -> its span
        self.span_outcomes: dict[int, str] = {}  # id(record) -> what fail() and the hops said
        self.later: set[int] = set()  # indexes of async jobs whose spans end in run_concurrently

    @property
    def backend(self) -> SqsBackend:
        """This batch's SQS port."""
        if callable(self._port):
            self._port = self._port()
        return self._port

    def run(self) -> dict[str, Any]:
        pending_async = drive(self.run_in_order())
        if pending_async:
            self.run_concurrently(pending_async)
        return self.finish()

    async def run_in_order(self) -> list[tuple[int, Call]]:
        """Each record in turn (a coroutine that never suspends: see ``invoke.drive``). Returns the
        ``async def`` jobs of a standard queue, to be run concurrently afterwards."""
        records, fates, fifo = self.records, self.fates, self.fifo
        pending_async: list[tuple[int, Call]] = []
        # FIFO: a failed group's next visibility. Its later records share it, so the whole group
        # returns together after the backoff (SQS blocks a group while any of it is in flight).
        blocked_groups: dict[str | None, int | None] = {}
        skip_group_only = self.settings.fifo_skip_group_on_error
        may_start = self.cutoff.may_start if self.context is not None else None  # no context: no clock
        prepare, settle, hooks, middleware, spans = self.prepare, self.settle, self.hooks, self.middleware, self.spans
        if spans is not None:
            prepare = self.prepare_traced
        # with OpenTelemetry on, each record is a span, current while its body runs (see .spans)
        traced = traced_records(self, records) if spans is not None else None
        for index, record in traced if traced is not None else enumerate(records):
            if fifo and blocked_groups:
                group = rec.group_id(record) if isinstance(record, dict) else None
                if group in blocked_groups:
                    fates[index] = skipped("an earlier message of its FIFO group failed", blocked_groups[group])
                    continue
                if not skip_group_only:  # not at fault: release it at once
                    fates[index] = skipped("an earlier message of the FIFO batch failed", 0)
                    continue
            if may_start is not None and not may_start():
                for rest in range(index, len(records)):
                    fates[rest] = self.cut_off()
                if spans is not None:  # the records never started get their spans too
                    for rest in range(index + 1, len(records)):
                        spans.end(spans.start(records[rest], rec.receive_count(records[rest])), "cut_off")
                break
            prepared = prepare(record)
            if isinstance(prepared, Fate):
                fate = prepared
            elif prepared.is_async and not fifo:
                pending_async.append((index, prepared))
                if spans is not None:
                    self.later.add(index)  # its span ends once it has run
                continue
            elif middleware:
                run = self.job_run(prepared, record)
                fate = settle(record, prepared, await invoke(prepared, record, hooks, in_loop=False, run=run), run)
            else:
                error = await invoke(prepared, record, hooks, in_loop=False)
                if error is None and prepared.payload is None:
                    continue  # the common case: nothing to settle
                fate = settle(record, prepared, error)
            if fate is not DONE:
                fates[index] = fate
                if fifo and fate.reported_failed:
                    blocked_groups[rec.group_id(record)] = fate.visibility
        if traced is not None:
            traced.close()  # ends the last record's span after a break
        return pending_async

    def run_concurrently(self, pending: list[tuple[int, Call]]) -> None:
        """Run ``async def`` jobs of a standard-queue batch, at most ``max_concurrency`` at once."""
        import asyncio  # only a batch with async jobs pays for it

        async def run_one(semaphore: asyncio.Semaphore, index: int, call: Call) -> None:
            async with semaphore:
                if not self.cutoff.may_start():
                    self.fates[index] = self.cut_off()
                    self.end_span(index)
                    return
                record = self.records[index]
                span = self.open_spans.get(index)
                with self.spans.current(span) if self.spans is not None and span is not None else NO_SCOPE:
                    run = self.job_run(call, record) if self.middleware else None
                    self.fates[index] = self.settle(record, call, await invoke(call, record, self.hooks, run=run), run)
                self.end_span(index)

        async def run_all() -> None:
            semaphore = asyncio.Semaphore(self.settings.max_concurrency)
            await asyncio.gather(*(run_one(semaphore, index, call) for index, call in pending))

        try:
            asyncio.run(run_all())
        except Exception as error:  # no event loop could run them (e.g. one already runs here)
            for index, call in pending:
                if self.fates[index] is DONE:
                    self.fates[index] = self.settle(self.records[index], call, error)
                self.end_span(index)

    # -- one record ---------------------------------------------------------------------------------

    def prepare(self, record: Any) -> Call | Fate:
        """Decode and route (the dispatcher's ``prepare``); a record that cannot be called gets its fate."""
        if record.__class__ is not dict:
            return self.fail(record, None, NoRouteError("the record is not an object"))
        try:
            call = self.dispatcher.prepare(record)
        except MessageError as error:  # named now, off the hot path
            error.for_message(rec.message_id(record) or "(no messageId)")
            return self.fail(record, None, error)
        except Exception as error:  # a decoder bug must not escape: the record stays in the queue
            return self.fail(record, None, error)
        envelope = call.envelope
        if envelope is not None and envelope.not_before is not None:
            early = self.defer_if_early(record, call, envelope)
            if early is not None:
                return early
        return call

    def job_run(self, call: Call, record: Any) -> JobRun:
        """What the middleware see of one invoked record."""
        return JobRun(call, record, rec.receive_count(record) if record.__class__ is dict else 1, self.context)

    def prepare_traced(self, record: Any) -> Call | Fate:
        """:meth:`prepare`, the job's fields given to the record's span (OpenTelemetry on)."""
        prepared = self.prepare(record)
        if self.spans is not None and not isinstance(prepared, Fate):
            self.spans.job(otel.current_span(), prepared)
        return prepared

    def settle(self, record: Any, call: Call, error: BaseException | None, run: JobRun | None = None) -> Fate:
        """What became of an invoked call: done (its S3 payload to delete), or the failure policy's fate."""
        if error is None:
            if call.payload is not None:
                self.payloads_done.append(call.payload)
            if run is not None:
                run_after(self.middleware, run, "succeeded")
            return DONE
        fate = self.fail(record, call, error)
        if run is not None:
            run_after(self.middleware, run, failed_outcome(fate), error)
        return fate

    def fail(self, record: Any, call: Call | None, error: BaseException) -> Fate:
        """The failure policy for one record: decided, carried out (a DLQ copy), counted and logged once."""
        attempt = rec.receive_count(record) if record.__class__ is dict else 1
        policy: JobPolicy = call.policy if call is not None and call.policy else self.settings.default_policy
        age = _age(call, record) if policy.max_age is not None else None
        decided = decide(error, Attempt(attempt, age), policy)
        job = call.name if call is not None else getattr(error, "job", None)
        fate = decided
        if decided.verdict == Verdict.DEAD_LETTER:
            from . import effects  # imported on the first failure: a lighter cold start

            fate = effects.copy_to_dlq(self.backend, record, decided, job, attempt)
        outcome = failed_outcome(fate)
        if self.spans is not None:
            self.span_outcomes[id(record)] = outcome
        self.metrics.count(job or "-", "failed")
        self.metrics.count(job or "-", outcome)
        observe.log_outcome(
            decided if fate.verdict == Verdict.DONE else fate,
            job=job,
            message_id=rec.message_id(record),
            attempt=attempt,
            context=call.context if call else None,
            arguments=call.kwargs if call else None,
            envelope_id=call.envelope.id if call is not None and call.envelope is not None else None,
        )
        return fate

    def cut_off(self) -> Fate:
        """A record not started for lack of time; a stopping worker (its context says ``stopping``)
        releases it at once, for another worker to take."""
        if self.cutoff.stopping:
            return skipped("the worker is stopping", 0)
        self.cutoff.cut += 1
        return skipped("Lambda time is running out (time cut-off)")

    def defer_if_early(self, record: dict[str, Any], call: Call, envelope: wire.Envelope) -> Fate | None:
        """A long delay (> 900 s) not yet due: re-send it for the next hop and acknowledge this copy."""
        not_before, now = envelope.not_before_time(), _now()
        if not_before is None or not_before <= now:
            return None
        remaining = max(1, int((not_before - now).total_seconds() + 0.999))
        if self.spans is not None:
            self.span_outcomes[id(record)] = "deferred"
            self.spans.job(otel.current_span(), call)
        if self.fifo:  # FIFO has no per-message delay: hold the message (and, by SQS's rule, its group)
            return Fate(Verdict.RETRY, visibility=min(remaining, 43_200), reason="not due yet")
        body = wire.rehop(envelope, self.dispatcher.hop_signer())
        from . import effects

        return effects.send_next_hop(self.backend, record, body, remaining, job=call.name, hop=envelope.hops + 1)

    def end_span(self, index: int) -> None:
        """End a record's span with its outcome (see :mod:`.spans`)."""
        if self.spans is not None:
            end_record_span(self, index)

    # -- the answer ---------------------------------------------------------------------------------

    def finish(self) -> dict[str, Any]:
        """Payloads deleted, backoff applied, metrics and the cut-off logged; the response, by Lambda's rules."""
        if self.payloads_done and not self.settings.keep_payloads:
            from ..wire import payloads

            payloads.delete_quietly(self.payloads_done)  # a failure fails no record: the bucket expires it
        failed = [(record, fate) for record, fate in zip(self.records, self.fates, strict=True) if fate is not DONE]
        if failed:
            from . import effects

            effects.apply_backoff(self.backend, failed)
        self.metrics.flush()
        if self.cutoff.cut and not self.cutoff.stopping:
            observe.log_warning(
                f"time cut-off: {self.cutoff.cut} record(s) not started, returned to the queue", **self.cutoff.summary()
            )
        seen: dict[str, None] = {}
        for record, fate in failed:
            if fate.reported_failed:
                message_id = rec.message_id(record)
                if message_id is None:
                    observe.log_loudly("a failed record has no messageId and cannot be reported")
                else:
                    seen[message_id] = None
        if seen and len(seen) == len(self.records) and self.settings.raise_on_entire_batch_failure:
            from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

            errors: list[tuple[type[BaseException] | None, BaseException | None, Any]] = [
                (type(f.error), f.error, f.error.__traceback__) for _, f in failed if f.error is not None
            ]
            raise BatchProcessingError(msg=f"All {len(seen)} records failed processing.", child_exceptions=errors)
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in seen]}


def failed_outcome(fate: Fate) -> Outcome:
    """What became of a failed record once its fate was carried out: a DONE fate after a failure is a DLQ
    copy that landed; anything else stays in the queue for a retry."""
    return "dead_lettered" if fate.verdict == Verdict.DONE else "retried"

"""A batch's OpenTelemetry spans (:mod:`sqs_lambda.otel`): each record's ``process`` span, current while
:class:`~sqs_lambda.consuming.batch.Batch` works on the record, ended with its outcome. Used only when
tracing is on: the batch's loop then iterates :func:`traced_records` instead of ``enumerate(records)``,
so with tracing off the per-record path is what it was."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from typing import Any

from ..wire import records as rec
from .policy import DONE, Verdict

# ``batch`` below is a Batch (not imported: the batch imports this module).


def end_record_span(batch: Any, index: int) -> None:
    """End a record's span with its outcome (fail() and the hops said theirs; else its fate says)."""
    span = batch.open_spans.pop(index, None)
    if span is None or batch.spans is None:
        return
    fate, record = batch.fates[index], batch.records[index]
    outcome = batch.span_outcomes.get(id(record))
    if outcome is None:
        if fate.verdict == Verdict.SKIPPED:
            cut = (fate.reason is not None and "cut-off" in fate.reason) or batch.cutoff.stopping
            outcome = "cut_off" if cut else "skipped"
        else:
            outcome = "succeeded" if fate is DONE else "retried"
    batch.spans.end(span, outcome, fate.error)


class RecordScope:
    """A record's ``process`` span, current while :meth:`Batch.run_in_order` works on the record, then ended
    (unless its async job runs later)."""

    __slots__ = ("batch", "index", "use")

    def __init__(self, batch: Any, index: int, record: Any) -> None:
        spans = batch.spans
        assert spans is not None
        span = spans.start(record, rec.receive_count(record) if record.__class__ is dict else 1)
        batch.open_spans[index] = span
        self.batch, self.index, self.use = batch, index, spans.current(span)

    def __enter__(self) -> None:
        self.use.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.use.__exit__(*exc)
        if self.index not in self.batch.later:
            end_record_span(self.batch, self.index)


class _NoScope:
    """The record scope when tracing is off: nothing."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


NO_SCOPE = _NoScope()


def traced_records(batch: Any, records: Sequence[Any]) -> Generator[tuple[int, Any], None, None]:
    """``enumerate(records)``, each record's span current while the loop's body runs on it and ended
    when the body is done (the next record is asked for, or the generator is closed after a break)."""
    for index, record in enumerate(records):
        scope = RecordScope(batch, index, record)
        scope.__enter__()
        try:
            yield index, record
        finally:
            scope.__exit__(None, None, None)

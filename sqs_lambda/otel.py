"""OpenTelemetry: one trace from producer to consumer, a span per send and per record, a job's lineage.

Contract:
- **On only when asked.** :func:`tracer` is None unless a tracer provider is in force: one given to
  :func:`use_tracer_provider`, or the global one once the application (or the ADOT layer) has set it.
  This module never imports OpenTelemetry itself: it looks for the API among the modules already
  imported, so a function without the ``otel`` extra, or without a provider, imports and records nothing.
- **Propagation.** Each SendMessageBatch call is a ``send <queue>`` span (PRODUCER) whose context goes into
  every message as the W3C ``traceparent``/``tracestate`` String message attributes (the form
  OpenTelemetry's SQS instrumentation uses). A message with no room for them (SQS allows 10 attributes)
  carries the producer's current context in its envelope's ``context`` instead. On the consumer the message
  attributes win over the envelope; a record with neither but an ``AWSTraceHeader`` (X-Ray) links to that.
- **Spans per record.** Each record is a ``process <queue>`` span (CONSUMER), linked to its producer's
  span context, with ``messaging.message.id``, ``sqs_lambda.job``, ``sqs_lambda.attempt``,
  ``sqs_lambda.lineage_id`` (the envelope id, kept across retries, delay hops, S3 pointers, the DLQ and
  redrives), ``sqs_lambda.parent_lineage_id`` (the job that enqueued it, if one did) and
  ``sqs_lambda.outcome``: ``succeeded``, ``retried``, ``dead_lettered``, ``skipped_duplicate``,
  ``cut_off``, ``skipped`` (after a FIFO failure) or ``deferred`` (a long delay's next hop). The error is
  recorded on failure. S3 payload fetches, idempotency checks and DLQ copies are child spans.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from . import settings

TRACEPARENT, TRACESTATE = "traceparent", "tracestate"
PARENT_LINEAGE = "parent_lineage_id"  # in an envelope's context: the job that enqueued this one
MAX_ATTRIBUTES = 10  # SQS's limit of message attributes per message
_provider: Any = None  # use_tracer_provider's, or the one SQS_LAMBDA_OTEL set up
_refused: list[str] = []  # an SQS_LAMBDA_OTEL that cannot work here (said once)


def use_tracer_provider(provider: Any) -> None:
    """Trace with ``provider`` instead of the global one (None: back to the global one)."""
    global _provider
    _provider = provider


def tracer() -> Any:
    """The tracer when tracing is on (see the module docstring), else None."""
    provider = _provider
    if provider is None and settings.current().otel_exporter and not _refused:
        provider = _configured(str(settings.current().otel_exporter))
    if provider is None:
        trace = sys.modules.get("opentelemetry.trace")
        if trace is None:
            return None  # nobody imported OpenTelemetry: no provider can be set
        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            return None
    return provider.get_tracer("sqs_lambda")


SDK_MISSING = "opentelemetry-sdk is not installed (pip install 'opentelemetry-sdk')"
OTLP_MISSING = (
    "the OTLP exporter is not installed (pip install 'opentelemetry-sdk' 'opentelemetry-exporter-otlp-proto-http')"
)


def exporter_problem(kind: str) -> str | None:
    """Why ``SQS_LAMBDA_OTEL=kind`` cannot work here (one line), or None."""
    import importlib.util

    def missing(module: str) -> bool:
        try:
            return importlib.util.find_spec(module) is None
        except ModuleNotFoundError:  # a parent package is missing
            return True

    if kind not in ("console", "otlp"):
        return f"unknown OpenTelemetry exporter {kind!r}: console or otlp"
    if missing("opentelemetry.sdk"):
        return SDK_MISSING
    if kind == "otlp" and missing("opentelemetry.exporter.otlp.proto.http"):
        return OTLP_MISSING
    return None


def _configured(kind: str) -> Any:
    """``SQS_LAMBDA_OTEL``: the SDK's provider with a console or OTLP exporter (``sqs-lambda local --otel``),
    set once as the global provider; spans are exported as each ends. None when it cannot be (said once)."""
    global _provider
    problem = exporter_problem(kind)
    if problem is not None:
        from . import observe

        observe.log_loudly(f"{settings.OTEL_EXPORTER}={kind}: {problem}; tracing is off")
        _refused.append(kind)  # said once
        return None
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

    if kind == "otlp":  # the endpoint: OTEL_EXPORTER_OTLP_ENDPOINT, as the exporter reads it
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter: Any = OTLPSpanExporter()
    else:
        exporter = ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")
    provider = TracerProvider(resource=Resource.create({"service.name": settings.current().service_name}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def _api() -> Any:
    from opentelemetry import trace

    return trace


def _propagator() -> Any:
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    return TraceContextTextMapPropagator()


# -- producing ----------------------------------------------------------------------------------------


def context_carrier() -> dict[str, str]:
    """The current span context as W3C headers (what an envelope's context carries when the message has
    no room for the attributes)."""
    carrier: dict[str, str] = {}
    _propagator().inject(carrier)
    return carrier


def envelope_fields(attributes: int) -> dict[str, str]:
    """What an envelope's context carries for tracing: the running job's lineage (a job enqueued by a job),
    and the trace context when its message, with ``attributes`` already, has no room for ``traceparent``
    and ``tracestate``."""
    from .observe import RUNNING

    fields: dict[str, str] = {}
    running = RUNNING.get()
    if running is not None and running[3] is not None:
        fields[PARENT_LINEAGE] = running[3].id
    if attributes + 2 > MAX_ATTRIBUTES:
        fields.update(context_carrier())
    return fields


@contextmanager
def send_span(active: Any, queue: str, messages: list[Any], parent: Any = None) -> Iterator[Any]:
    """A ``send <queue>`` span around one SendMessageBatch call; its context goes into each message's
    attributes where there is room (see the module docstring)."""
    trace = _api()
    attributes: dict[str, Any] = {
        "messaging.system": "aws_sqs",
        "messaging.operation.type": "send",
        "messaging.operation.name": "send",
        "messaging.destination.name": queue,
    }
    if len(messages) > 1:
        attributes["messaging.batch.message_count"] = len(messages)
    else:  # one job: its lineage (the job inspector's timeline finds the span by it)
        attributes["sqs_lambda.lineage_id"] = messages[0].envelope_id
    with active.start_as_current_span(
        f"send {queue}", context=parent, kind=trace.SpanKind.PRODUCER, attributes=attributes
    ) as span:
        carrier = context_carrier()
        headers = {name: {"DataType": "String", "StringValue": value} for name, value in carrier.items()}
        for message in messages:
            if len(message.attributes) + len(headers) <= MAX_ATTRIBUTES:
                message.attributes = {**message.attributes, **headers}
        yield span


def current_context() -> Any:
    """The OpenTelemetry context of the caller (handed to sender threads)."""
    from opentelemetry import context

    return context.get_current()


# -- consuming ----------------------------------------------------------------------------------------


def producer_link(record: Mapping[str, Any], envelope_context: Mapping[str, Any] | None = None) -> Any:
    """The producer's span context of a record: its message attributes, else its envelope's context,
    else its X-Ray ``AWSTraceHeader``; None without any."""
    trace = _api()
    attributes = record.get("messageAttributes") or {}
    carrier = {
        name: str((attributes.get(name) or {}).get("stringValue") or "")
        for name in (TRACEPARENT, TRACESTATE)
        if (attributes.get(name) or {}).get("stringValue")
    }
    if not carrier and envelope_context:
        carrier = {
            name: str(envelope_context[name]) for name in (TRACEPARENT, TRACESTATE) if envelope_context.get(name)
        }
    if carrier:
        span_context = trace.get_current_span(_propagator().extract(carrier)).get_span_context()
        return span_context if span_context.is_valid else None
    header = (record.get("attributes") or {}).get("AWSTraceHeader")
    return xray_span_context(header) if isinstance(header, str) else None


def xray_span_context(header: str) -> Any:
    """An X-Ray trace header (``Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1``)
    as a remote span context; None when it cannot be read."""
    trace = _api()
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    root, parent = fields.get("Root", ""), fields.get("Parent", "")
    pieces = root.split("-")
    try:
        trace_id, span_id = int("".join(pieces[1:3]), 16), int(parent, 16)
    except ValueError:
        return None
    if len(pieces) != 3 or not trace_id or not span_id:
        return None
    flags = trace.TraceFlags(trace.TraceFlags.SAMPLED if fields.get("Sampled") == "1" else trace.TraceFlags.DEFAULT)
    return trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=flags)


class RecordSpans:
    """The ``process`` spans of one batch: started per record, made current while it is worked on,
    given the job's fields once decoded, its outcome once settled, and ended."""

    def __init__(self, active: Any, queue: str) -> None:
        self.tracer, self.queue, self.trace = active, queue, _api()
        self.unlinked: set[int] = set()  # spans whose record had no context in its attributes

    def start(self, record: Any, attempt: int) -> Any:
        attributes: dict[str, Any] = {
            "messaging.system": "aws_sqs",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": self.queue,
            "sqs_lambda.attempt": attempt,
        }
        links = []
        if isinstance(record, dict):
            if record.get("messageId"):
                attributes["messaging.message.id"] = record["messageId"]
            linked = producer_link(record)
            if linked is not None:
                links.append(self.trace.Link(linked))
        span = self.tracer.start_span(
            f"process {self.queue}", kind=self.trace.SpanKind.CONSUMER, attributes=attributes, links=links
        )
        if not links:
            self.unlinked.add(id(span))
        return span

    def current(self, span: Any) -> Any:
        """``with spans.current(span):`` the record's span is the current one (its child spans' parent)."""
        return self.trace.use_span(span, end_on_exit=False)

    def job(self, span: Any, call: Any) -> None:
        """The decoded job's fields; the envelope's context links the producer when the attributes did not."""
        span.set_attribute("sqs_lambda.job", call.name)
        envelope = call.envelope
        if envelope is None:
            return
        span.set_attribute("sqs_lambda.lineage_id", envelope.id)
        context = envelope.context if isinstance(envelope.context, dict) else {}
        if context.get(PARENT_LINEAGE):
            span.set_attribute("sqs_lambda.parent_lineage_id", str(context[PARENT_LINEAGE]))
        if id(span) in self.unlinked and context.get(TRACEPARENT):
            linked = producer_link({}, context)
            if linked is not None:
                span.add_link(linked)

    def end(self, span: Any, outcome: str, error: BaseException | None = None) -> None:
        self.unlinked.discard(id(span))
        recorded = getattr(span, "attributes", None) or {}
        if recorded.get("sqs_lambda.outcome") != "skipped_duplicate":  # the idempotency check's word
            span.set_attribute("sqs_lambda.outcome", outcome)
        if error is not None and outcome in ("retried", "dead_lettered"):
            span.record_exception(error)
            span.set_status(self.trace.Status(self.trace.StatusCode.ERROR, str(error)[:300]))
        span.end()


@contextmanager
def child(name: str, **attributes: Any) -> Iterator[Any]:
    """A child span of the current one (S3 fetches, idempotency checks, DLQ copies) when tracing is on."""
    active = tracer()
    if active is None:
        yield None
        return
    with active.start_as_current_span(name, attributes=attributes) as span:
        yield span


def mark_current(name: str, value: Any) -> None:
    """Set an attribute on the current span, if tracing is on (the idempotency check's duplicate)."""
    if tracer() is not None:
        _api().get_current_span().set_attribute(name, value)


def current_span() -> Any:
    return _api().get_current_span()


def error_status(description: str) -> Any:
    trace = _api()
    return trace.Status(trace.StatusCode.ERROR, description)

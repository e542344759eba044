"""OpenTelemetry through SQS, with the SDK's in-memory exporter, on the embedded engine: the producer's
span and the consumer's process spans share a trace through links, and a job keeps one lineage."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sqs_lambda import Reject, Router, otel
from sqs_lambda.consuming import backoff
from sqs_lambda_testing import lambda_context, sqs_record
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel.use_tracer_provider(provider)
    try:
        yield exporter
    finally:
        otel.use_tracer_provider(None)


def process_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("process ")]


def send_spans(exporter: InMemorySpanExporter) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.name.startswith("send ")]


def test_the_producer_span_and_the_process_span_share_the_trace_through_the_link(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    router = Router(queue_url=sqs_queue.url)
    router.job("work")(lambda n: None)
    tracer = otel.tracer()
    with tracer.start_as_current_span("checkout request"):
        message_id = router.producer.send("work", n=1)
    (sent,) = send_spans(spans)
    assert sent.kind.name == "PRODUCER" and sent.attributes["messaging.system"] == "aws_sqs"
    assert sent.attributes["messaging.destination.name"] == sqs_queue.name
    assert sent.attributes["messaging.message.id"] == message_id
    (received,) = sqs_local.receive(sqs_queue.url, visibility_timeout=0)
    assert received["MessageAttributes"]["traceparent"]["StringValue"].split("-")[2] == format(
        sent.context.span_id, "016x"
    )
    assert sqs_local.deliver(router, sqs_queue) is not None
    (processed,) = process_spans(spans)
    assert processed.kind.name == "CONSUMER" and processed.attributes["sqs_lambda.outcome"] == "succeeded"
    (link,) = processed.links
    assert (link.context.trace_id, link.context.span_id) == (sent.context.trace_id, sent.context.span_id)
    assert processed.attributes["sqs_lambda.job"] == "work" and processed.attributes["messaging.message.id"]


def test_a_job_retried_twice_then_succeeded_has_three_linked_spans_and_one_lineage(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    router = Router(queue_url=sqs_queue.url, default_backoff=backoff.immediate())
    attempts: list[int] = []

    @router.job()
    def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionError("not yet")

    router.producer.send("flaky")
    sqs_local.deliver_until(router, sqs_queue, lambda: len(attempts) == 3)
    assert len(attempts) == 3
    processed = sorted(process_spans(spans), key=lambda s: s.start_time)
    assert [s.attributes["sqs_lambda.outcome"] for s in processed] == ["retried", "retried", "succeeded"]
    assert [s.attributes["sqs_lambda.attempt"] for s in processed] == [1, 2, 3]
    assert len({s.attributes["sqs_lambda.lineage_id"] for s in processed}) == 1
    assert len({(s.links[0].context.span_id) for s in processed}) == 1  # all linked to the one send span
    assert processed[0].status.status_code.name == "ERROR" and processed[0].events[0].name == "exception"


def test_a_rejected_job_is_dead_lettered_and_after_a_redrive_keeps_its_lineage(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    from sqs_lambda_dev import ops

    router = Router(queue_url=sqs_queue.url)
    runs: list[str] = []

    @router.job()
    def picky(word: str) -> None:
        runs.append(word)
        if len(runs) == 1:
            raise Reject("not today")

    router.producer.send("picky", word="please")
    assert sqs_local.deliver(router, sqs_queue) is not None
    (first,) = process_spans(spans)
    assert first.attributes["sqs_lambda.outcome"] == "dead_lettered"
    (copy,) = [s for s in spans.get_finished_spans() if s.name == "dlq copy"]
    assert copy.parent is not None and copy.parent.span_id == first.context.span_id  # a child span
    ops.redrive(sqs_local.backend, sqs_queue.dlq_url, sqs_queue.url, use_move_task=False)
    sqs_local.deliver_until(router, sqs_queue, lambda: len(runs) == 2)
    assert len(runs) == 2
    second = [s for s in process_spans(spans) if s is not first and s.context.span_id != first.context.span_id][-1]
    assert second.attributes["sqs_lambda.outcome"] == "succeeded"
    assert second.attributes["sqs_lambda.lineage_id"] == first.attributes["sqs_lambda.lineage_id"]


def test_a_long_delay_keeps_its_lineage_across_its_hops(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqs_lambda.consuming import batch as batch_module
    from sqs_lambda.consuming import effects
    from sqs_lambda.producing import producer as producer_module

    start, began = dt.datetime.now(dt.UTC), time.monotonic()
    monkeypatch.setattr(batch_module, "_now", lambda: start + dt.timedelta(seconds=(time.monotonic() - began) * 1000))
    monkeypatch.setattr(effects, "MAX_HOP_DELAY", 1)
    monkeypatch.setattr(producer_module, "MAX_SQS_DELAY", 1)
    router = Router(queue_url=sqs_queue.url)
    ran: list[int] = []
    router.job("reminder")(lambda: ran.append(1))
    router.producer.send("reminder", delay=3600)
    sqs_local.deliver_until(router, sqs_queue, lambda: bool(ran), seconds=30)
    assert ran
    processed = sorted(process_spans(spans), key=lambda s: s.start_time)
    outcomes = [s.attributes["sqs_lambda.outcome"] for s in processed]
    assert outcomes[-1] == "succeeded" and set(outcomes[:-1]) == {"deferred"} and len(outcomes) >= 3
    assert len({s.attributes["sqs_lambda.lineage_id"] for s in processed}) == 1


def test_a_job_enqueued_by_a_handler_names_its_parents_lineage(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    router = Router(queue_url=sqs_queue.url)
    done: list[str] = []

    @router.job()
    def parent() -> None:
        child.delay()

    @router.job()
    def child() -> None:
        done.append("child")

    parent.delay()
    sqs_local.deliver_until(router, sqs_queue, lambda: bool(done))
    assert done
    by_job = {s.attributes["sqs_lambda.job"]: s for s in process_spans(spans)}
    assert (
        by_job["child"].attributes["sqs_lambda.parent_lineage_id"]
        == by_job["parent"].attributes["sqs_lambda.lineage_id"]
    )
    assert "sqs_lambda.parent_lineage_id" not in by_job["parent"].attributes
    assert by_job["child"].links[0].context.trace_id == by_job["parent"].context.trace_id  # sent from within it


def test_a_message_with_ten_attributes_carries_the_context_in_its_envelope(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    router = Router(queue_url=sqs_queue.url)
    router.job("work")(lambda: None)
    own = {f"tag{n}": {"DataType": "String", "StringValue": str(n)} for n in range(9)}  # with `job`: 10
    with otel.tracer().start_as_current_span("request") as request:
        router.producer.enqueue("work", {}, attributes=own)
    (received,) = sqs_local.receive(sqs_queue.url, visibility_timeout=0)
    assert len(received["MessageAttributes"]) == 10 and "traceparent" not in received["MessageAttributes"]
    assert "traceparent" in json.loads(received["Body"])["context"]
    assert sqs_local.deliver(router, sqs_queue) is not None
    (processed,) = process_spans(spans)
    (link,) = processed.links
    assert (link.context.trace_id, link.context.span_id) == (request.context.trace_id, request.context.span_id)


def test_an_xray_trace_header_is_linked_when_no_traceparent_came(spans: InMemorySpanExporter) -> None:
    router = Router()
    router.job("work")(lambda: None)
    record = sqs_record(("work", {}))
    record["attributes"]["AWSTraceHeader"] = (
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    )
    assert router.lambda_handler({"Records": [record]}, lambda_context()) == {"batchItemFailures": []}
    (link,) = process_spans(spans)[0].links
    assert format(link.context.trace_id, "032x") == "5759e988bd862e3fe1be46a994272793"
    assert format(link.context.span_id, "016x") == "53995c3f42cd8ad8"


def test_records_cut_off_or_undecodable_get_spans_with_their_outcome(spans: InMemorySpanExporter) -> None:
    router = Router(time_margin_ms=1_000)
    router.job("slow")(lambda: time.sleep(0.35))
    records = [sqs_record("not an envelope"), sqs_record(("slow", {})), sqs_record(("slow", {}))]
    router.lambda_handler({"Records": records}, lambda_context(remaining_ms=400))  # margin: a quarter
    outcomes = {s.attributes["messaging.message.id"]: s.attributes["sqs_lambda.outcome"] for s in process_spans(spans)}
    assert [outcomes[r["messageId"]] for r in records] == ["dead_lettered", "succeeded", "cut_off"]


NO_PROVIDER = """
import sys
from sqs_lambda import Router
from sqs_lambda_testing import lambda_context, sqs_event
router = Router()
router.job("work")(lambda: None)
router.producer if False else None
assert router.lambda_handler(sqs_event(("work", {})), lambda_context()) == {"batchItemFailures": []}
print(sorted(m for m in sys.modules if m.startswith("opentelemetry")))
"""


def test_without_a_provider_nothing_of_opentelemetry_is_imported() -> None:
    done = subprocess.run([sys.executable, "-c", NO_PROVIDER], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


WITHOUT_EXPORTER = """
import sys

class Missing:  # as if opentelemetry-exporter-otlp-proto-http were not installed
    def find_spec(self, name, path=None, target=None):
        if name.startswith("opentelemetry.exporter"):
            raise ModuleNotFoundError(name)
        return None

sys.meta_path.insert(0, Missing())
sys.argv = ["sqs-lambda", "local", "--otel", "otlp"]
from sqs_lambda_dev.cli import main
main()
"""


def test_local_otel_otlp_without_the_exporter_is_one_clear_line(tmp_path: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_EXPORTER], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: --otel otlp: the OTLP exporter is not installed "
        "(pip install 'opentelemetry-sdk' 'opentelemetry-exporter-otlp-proto-http')"
    ]


def test_worker_mode_makes_the_same_spans(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    from sqs_lambda.worker import Worker
    from sqs_lambda.worker.shutdown import Shutdown

    router = Router(queue_url=sqs_queue.url)
    router.job("work")(lambda: None)
    router.producer.send("work")
    worker = Worker(router, sqs_queue.url, backend=sqs_local.backend, wait=1, shutdown=Shutdown.parse("idle:1"))
    worker.run()
    (processed,) = process_spans(spans)
    (sent,) = send_spans(spans)
    assert processed.attributes["sqs_lambda.outcome"] == "succeeded"
    assert processed.links[0].context.span_id == sent.context.span_id


def test_more_than_ten_attributes_are_refused_before_sending(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    from sqs_lambda.errors import ConfigurationError

    router = Router(queue_url=sqs_queue.url)
    router.job("work")(lambda: None)
    own = {f"tag{n}": {"DataType": "String", "StringValue": str(n)} for n in range(10)}  # with `job`: 11
    with pytest.raises(ConfigurationError, match="11 attributes: SQS allows 10"):
        router.producer.enqueue("work", {}, attributes=own)
    assert sqs_local.total(sqs_queue.url) == 0


def test_an_idempotent_duplicate_is_skipped_duplicate_under_its_check_span(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair, idempotency_table: str
) -> None:
    router = Router(queue_url=sqs_queue.url)
    ran: list[str] = []
    router.job("charge", idempotent=True, idempotency_key=lambda order: order)(lambda order: ran.append(order))
    router.producer.send("charge", order="A-1")
    router.producer.send("charge", order="A-1")  # the same key: runs once
    sqs_local.deliver_until(router, sqs_queue, lambda: len(process_spans(spans)) == 2)
    assert ran == ["A-1"]
    outcomes = sorted(s.attributes["sqs_lambda.outcome"] for s in process_spans(spans))
    assert outcomes == ["skipped_duplicate", "succeeded"]
    checks = [s for s in spans.get_finished_spans() if s.name == "idempotency check"]
    parents = {s.context.span_id for s in process_spans(spans)}
    assert len(checks) == 2 and all(check.parent.span_id in parents for check in checks)


def test_an_s3_payload_fetch_is_a_child_span_and_keeps_the_lineage(
    spans: InMemorySpanExporter, sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    from sqs_lambda import Producer, aws

    bucket = f"otel-payloads-{sqs_queue.name[-8:]}"
    aws.client("s3").create_bucket(Bucket=bucket)
    router = Router(queue_url=sqs_queue.url, payload_buckets=[bucket], keep_payloads=True)
    got: list[int] = []
    router.job("big")(lambda text: got.append(len(text)))
    producer = Producer(
        sqs_queue.url, router=router, backend=sqs_local.backend, payload_bucket=bucket, payload_threshold=1_000
    )
    producer.send("big", text="x" * 5_000)
    assert sqs_local.deliver(router, sqs_queue) is not None and got == [5_000]
    (processed,) = process_spans(spans)
    (fetch,) = [s for s in spans.get_finished_spans() if s.name == "s3 get payload"]
    assert fetch.parent.span_id == processed.context.span_id and fetch.attributes["aws.s3.bucket"] == bucket
    (stored,) = aws.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
    body = json.loads(aws.client("s3").get_object(Bucket=bucket, Key=stored["Key"])["Body"].read())
    assert processed.attributes["sqs_lambda.outcome"] == "succeeded"
    assert processed.attributes["sqs_lambda.lineage_id"] == body["id"]  # the envelope's, from behind the pointer


OTLP_RUN = """
from sqs_lambda import Router
from sqs_lambda_testing import lambda_context, sqs_event
router = Router()
router.job("work")(lambda: None)
assert router.lambda_handler(sqs_event(("work", {})), lambda_context()) == {"batchItemFailures": []}
"""


def test_otlp_exports_to_the_endpoint_the_environment_names(tmp_path: Any) -> None:
    """SQS_LAMBDA_OTEL=otlp (what ``sqs-lambda local --otel otlp`` sets): a collector on 127.0.0.1 gets
    the spans over OTLP/HTTP (protobuf), in a process of its own (it sets the global provider)."""
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http")
    import http.server
    import os
    import threading

    received: list[tuple[str, bytes]] = []

    class Collector(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # the standard library's name
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        environment = {
            **os.environ,
            "SQS_LAMBDA_OTEL": "otlp",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{server.server_address[1]}",
        }
        done = subprocess.run(
            [sys.executable, "-c", OTLP_RUN], capture_output=True, text=True, timeout=60, env=environment
        )
        assert done.returncode == 0, done.stderr
    finally:
        server.shutdown()
    assert [path for path, _ in received] == ["/v1/traces"]
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest.FromString(received[0][1])
    names = [span.name for resource in request.resource_spans for scope in resource.scope_spans for span in scope.spans]
    assert names == ["process jobs"]

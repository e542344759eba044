"""The job inspector's parts, each on its own: the board's calls and cache, the journal and the history
read from it, timelines, the send form's fields and errors, the CloudWatch history's one call."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda import Router
from sqs_lambda_dev.dashboard.board import QueueBoard
from sqs_lambda_dev.dashboard.forms import FormErrors, fields_of, kwargs_from_form
from sqs_lambda_dev.dashboard.history import BUCKET_SECONDS, CloudWatchHistory, JournalHistory
from sqs_lambda_dev.dashboard.inspector import functions_summary
from sqs_lambda_dev.dashboard.timeline import journal_timeline, logs_timeline
from sqs_lambda_dev.local.journal import Journal, read_events

router = Router()


@router.job()
def place(sku: str, quantity: int, gift: bool = False, tags: list[str] | None = None, note: str | None = None) -> None:
    """A job with each kind of field."""


def attributes(name: str, *, visible: int = 0, dlq: str | None = None) -> dict[str, str]:
    found = {
        "QueueArn": f"arn:aws:sqs:us-east-1:1:{name}",
        "ApproximateNumberOfMessages": str(visible),
        "ApproximateNumberOfMessagesNotVisible": "0",
        "ApproximateNumberOfMessagesDelayed": "0",
    }
    if dlq:
        found["RedrivePolicy"] = json.dumps(
            {"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:1:{dlq}", "maxReceiveCount": 5}
        )
    return found


def test_the_board_makes_one_call_per_queue_concurrently_and_keeps_it_for_the_ttl() -> None:
    calls: list[str] = []
    running, most = [0], [0]
    lock = threading.Lock()

    def read(url: str) -> dict[str, str]:
        with lock:
            calls.append(url)
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        name = url.rsplit("/", 1)[-1]
        return attributes(name, visible=3, dlq=f"{name}-dlq" if not name.endswith("-dlq") else None)

    urls = [f"http://e/1/q{n}" for n in range(10)] + [f"http://e/1/q{n}-dlq" for n in range(10)]
    now = [0.0]
    board = QueueBoard(lambda: urls, read, ttl=2.0, clock=lambda: now[0])
    started = time.monotonic()
    rows = board.rows()
    assert time.monotonic() - started < 0.5  # 20 calls of 50 ms: concurrent, not one after another
    assert sorted(calls) == sorted(urls) and most[0] > 1
    by_name = {row.name: row for row in rows}
    assert by_name["q3"].dlq is by_name["q3-dlq"] and by_name["q3-dlq"].sources == ["q3"]
    board.rows()
    now[0] = 1.9
    board.rows()
    assert len(calls) == 20  # cached within the refresh interval
    now[0] = 2.0
    board.rows()
    assert len(calls) == 40
    board.expire()
    board.rows()
    assert len(calls) == 60  # an action forgets the cache


def test_a_queue_that_cannot_be_read_is_a_row_with_its_error() -> None:
    def read(url: str) -> dict[str, str]:
        raise RuntimeError("AccessDenied: no sqs:GetQueueAttributes")

    (row,) = QueueBoard(lambda: ["http://e/1/secret"], read).rows()
    assert row.name == "secret" and "AccessDenied" in row.error


def test_the_journal_appends_rotates_and_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    journal = Journal(path, clock=lambda: 100.0, max_bytes=200)
    for n in range(5):
        journal("invoke", {"n": n, "padding": "x" * 40})
    journal.close()
    assert path.with_name("events.1.jsonl").exists()  # one generation kept
    with path.open("a") as out:
        out.write('{"event": "invoke", "n": 9')  # a line being written
    events = list(read_events(path))
    assert [event["n"] for event in events][-3:] == [2, 3, 4] and all(e["time"] == 100.0 for e in events)


def test_the_history_counts_attempts_per_queue_in_five_minute_buckets(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    now = 1_000 * BUCKET_SECONDS + 10
    clock = [float(now)]
    journal = Journal(path, clock=lambda: clock[0])
    history = JournalHistory(path, clock=lambda: clock[0])
    journal("attempt", {"queue": "jobs", "outcome": "succeeded"})
    journal("attempt", {"queue": "jobs", "outcome": "failed"})
    clock[0] = now - 2 * BUCKET_SECONDS
    journal("attempt", {"queue": "jobs", "outcome": "succeeded"})
    journal("invoke", {"queue": "jobs"})  # not an attempt
    clock[0] = now - 13 * BUCKET_SECONDS  # older than an hour
    journal("attempt", {"queue": "jobs", "outcome": "succeeded"})
    clock[0] = now
    series = history.series(["jobs", "other"])["jobs"]
    assert series.done == [0] * 9 + [1, 0, 1] and series.failed == [0] * 11 + [1]
    journal("attempt", {"queue": "jobs", "outcome": "succeeded"})  # read incrementally
    assert history.series(["jobs"])["jobs"].done[-1] == 2


def test_a_timeline_orders_a_job_and_reads_a_dlq_copy_as_no_success(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    clock = [10.0]
    journal = Journal(path, clock=lambda: clock[0])

    def attempt(count: int, outcome: str, message: str = "m1") -> None:
        journal(
            "attempt",
            {
                "envelope_id": "E",
                "job": "place",
                "message_id": message,
                "queue": "jobs",
                "function": "worker",
                "request_id": f"r{count}",
                "receive_count": count,
                "sent_at": 9.5,
                "duration_ms": 500,
                "outcome": outcome,
                "problem": "",
            },
        )

    attempt(1, "failed")
    clock[0] = 20.0
    log = {
        "message": "record sent to the dead-letter queue",
        "message_id": "m1",
        "attempt": 2,
        "envelope_id": "E",
        "fate": "dead_letter",
        "error_type": "Reject",
        "error_message": "no stock",
    }
    journal("log", {"function": "worker", "line": json.dumps(log)})
    attempt(2, "succeeded")  # the router reported it done: it copied it to the DLQ
    journal("attempt", {**{"envelope_id": "OTHER"}, "outcome": "succeeded"})
    entries = journal_timeline(path, "E")
    assert [entry.kind for entry in entries] == ["sent", "received", "received", "dead-lettered"]
    assert entries[0].time == 9.5 and "no stock" in entries[-1].summary
    assert "sent to the DLQ" in entries[2].summary and entries[2].request_id == "r2"


def test_a_timeline_from_cloudwatch_logs_keeps_the_lines_with_the_envelope_id() -> None:
    class Logs:
        requests: list[dict[str, Any]] = []

        def filter_log_events(self, **request: Any) -> dict[str, Any]:
            self.requests.append(request)
            line = {
                "envelope_id": "E",
                "fate": "retry",
                "retry_in_seconds": 30,
                "error_type": "Retry",
                "error_message": "later",
            }
            other = {"envelope_id": "E2", "fate": "dead_letter"}
            return {
                "events": [
                    {"timestamp": 5000, "message": json.dumps(line)},
                    {"timestamp": 6000, "message": json.dumps(other)},
                    {"timestamp": 7000, "message": "START RequestId: x"},
                ]
            }

    logs = Logs()
    entries = logs_timeline(logs, ["/aws/lambda/dev-worker"], "E")
    assert [(entry.time, entry.kind, entry.summary) for entry in entries] == [
        (5.0, "retry", "retry in 30 s: Retry: later")
    ]
    assert logs.requests[0]["filterPattern"] == '"E"' and logs.requests[0]["logGroupName"] == "/aws/lambda/dev-worker"


def test_the_send_form_is_built_from_type_hints_and_names_the_wrong_field() -> None:
    fields = {field.name: field for field in fields_of(router.jobs["place"])}
    assert {name: field.kind for name, field in fields.items()} == {
        "sku": "str",
        "quantity": "int",
        "gift": "bool",
        "tags": "json",
        "note": "str",
    }
    assert fields["quantity"].required and not fields["gift"].required and fields["tags"].default == ""
    job = router.jobs["place"]
    assert kwargs_from_form(job, {"sku": "A1", "quantity": "3", "gift": "on", "tags": '["x"]'}) == {
        "sku": "A1",
        "quantity": 3,
        "gift": True,
        "tags": ["x"],
    }
    with pytest.raises(FormErrors) as wrong:
        kwargs_from_form(job, {"sku": "A1", "quantity": "three"})
    assert list(wrong.value.errors) == ["quantity"] and "Expected `int`" in wrong.value.errors["quantity"]
    with pytest.raises(FormErrors) as missing:
        kwargs_from_form(job, {"sku": "A1", "quantity": "1", "tags": "[oops"})
    assert missing.value.errors == {"tags": "not valid JSON"}


def test_the_cloudwatch_history_is_one_get_metric_data_for_every_queue() -> None:
    now = 2_000 * BUCKET_SECONDS + 30

    class CloudWatch:
        calls: list[dict[str, Any]] = []

        def get_metric_data(self, **request: Any) -> dict[str, Any]:
            self.calls.append(request)
            start = request["StartTime"]
            results = []
            for query in request["MetricDataQueries"]:
                metric = query["MetricStat"]["Metric"]["MetricName"]
                value = {
                    "NumberOfMessagesDeleted": 7,
                    "NumberOfMessagesReceived": 10,
                    "ApproximateAgeOfOldestMessage": 42,
                }[metric]
                results.append(
                    {
                        "Id": query["Id"],
                        "Timestamps": [start + dt.timedelta(seconds=11 * BUCKET_SECONDS)],
                        "Values": [value],
                    }
                )
            return {"MetricDataResults": results}

    cloudwatch = CloudWatch()
    history = CloudWatchHistory(cloudwatch, clock=lambda: float(now))
    series = history.series(["jobs", "orders"])
    assert len(cloudwatch.calls) == 1 and len(cloudwatch.calls[0]["MetricDataQueries"]) == 6
    assert series["jobs"].done[-1] == 7 and series["jobs"].failed[-1] == 3  # received but not deleted
    assert history.oldest_ages(["jobs", "orders"]) == {"jobs": 42.0, "orders": 42.0}
    assert len(cloudwatch.calls) == 1  # cached


def test_the_functions_summary_counts_from_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    journal = Journal(path)
    journal("cold-start", {"function": "old-run", "init_ms": 120, "live": 1})
    journal("engine", {"url": "http://127.0.0.1:1"})  # a new run: the functions start afresh
    journal("cold-start", {"function": "worker", "init_ms": 120, "live": 2})
    for n in range(7):
        journal("report", {"function": "worker", "line": f"REPORT RequestId: {n}"})
    journal("timeout", {"function": "worker", "seconds": 3})
    (summary,) = functions_summary(path)
    assert (summary["invocations"], summary["cold_starts"], summary["timeouts"], summary["environments"]) == (
        7,
        1,
        1,
        2,
    )
    assert summary["last_reports"] == [f"REPORT RequestId: {n}" for n in range(2, 7)]


def test_queues_that_cannot_be_listed_are_one_line_on_the_board() -> None:
    def urls() -> list[str]:
        raise ConnectionError('Could not connect to the endpoint URL: "http://127.0.0.1:9/"')

    board = QueueBoard(urls, lambda url: {})
    assert board.rows() == []
    assert board.error == (
        'the queues cannot be listed: ConnectionError: Could not connect to the endpoint URL: "http://127.0.0.1:9/"'
    )


def test_a_timeline_shows_the_jobs_spans_as_the_console_exporter_prints_them(tmp_path: Path) -> None:
    sdk = pytest.importorskip("opentelemetry.sdk.trace")
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("process jobs", attributes={"sqs_lambda.lineage_id": "E"}) as span:
        span.set_attribute("sqs_lambda.outcome", "succeeded")
    with tracer.start_as_current_span("process jobs", attributes={"sqs_lambda.lineage_id": "OTHER"}):
        pass
    journal = Journal(tmp_path / "events.jsonl")
    for finished in exporter.get_finished_spans():  # what `--otel console` prints, one JSON line per span
        journal("log", {"function": "worker", "line": finished.to_json(indent=None)})
    (entry,) = journal_timeline(tmp_path / "events.jsonl", "E")
    assert entry.kind == "span" and entry.function == "worker"
    assert (
        entry.summary.startswith("process jobs: succeeded, ") and format(span.context.trace_id, "032x") in entry.summary
    )

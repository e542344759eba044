"""Run small SAM templates through the local runtime against the session's moto endpoint."""

from __future__ import annotations

import json
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function

FUNCTION_CODE = '''
"""Test functions: every invocation is appended to $LOG_FILE as one JSON line."""
import json, os, threading, time

from sqs_lambda import Router

_lock = threading.Lock()


def log(kind, event, **extra):
    with _lock, open(os.environ["LOG_FILE"], "a") as out:
        records = event.get("Records", [])
        out.write(json.dumps({"kind": kind, "ids": [r["messageId"] for r in records],
                              "bodies": [r["body"] for r in records],
                              "attempts": [r["attributes"]["ApproximateReceiveCount"] for r in records],
                              "groups": [r["attributes"].get("MessageGroupId") for r in records],
                              "remaining_ms": extra.pop("remaining_ms", None), **extra}) + "\\n")


def ok(event, context):
    log("ok", event, remaining_ms=context.get_remaining_time_in_millis())
    return {"batchItemFailures": []}


def partial(event, context):
    log("partial", event)
    first = [r for r in event["Records"] if r["attributes"]["ApproximateReceiveCount"] == "1"]
    failed = [r["messageId"] for r in first if json.loads(r["body"]).get("fail")]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def invalid_id(event, context):
    log("invalid_id", event)
    attempts = {r["attributes"]["ApproximateReceiveCount"] for r in event["Records"]}
    return {"batchItemFailures": [{"itemIdentifier": "not-in-this-batch"}]} if attempts == {"1"} else {}


def slow(event, context):
    log("slow", event)
    if all(r["attributes"]["ApproximateReceiveCount"] == "1" for r in event["Records"]):
        time.sleep(2.5)
    return {}


def always_fails(event, context):
    log("always_fails", event)
    raise RuntimeError("broken")


def busy(event, context):
    started = time.time()
    time.sleep(0.4)
    log("busy", event, start=started, end=time.time(), pid=os.getpid())
    return {}


router = Router(default_backoff=__import__("sqs_lambda").backoff.immediate())
failed_once = set()


@router.job()
def step(n: int) -> None:
    with _lock, open(os.environ["LOG_FILE"], "a") as out:
        out.write(json.dumps({"kind": "step", "n": n}) + "\\n")
    if n == 2 and n not in failed_once:
        failed_once.add(n)
        raise RuntimeError("first attempt fails")


jobs = router.lambda_handler
'''


def queue_pair(name: str, *, visibility: int = 2, max_receive: int = 5, fifo: bool = False) -> dict[str, Any]:
    suffix = ".fifo" if fifo else ""
    return queue_with_dlq(
        name,
        queue_name={"Fn::Sub": f"${{Stage}}-{name.lower()}{suffix}"},
        visibility=visibility,
        max_receive_count=max_receive,
        fifo=fifo,
    )


def function(handler: str, queue: str, *, timeout: int = 10, log_file: Path, **event: Any) -> dict[str, Any]:
    environment = {"LOG_FILE": str(log_file), "SQS_LAMBDA_QUEUE_URL": {"Ref": queue}}
    return sqs_function(f"app.{handler}", queue, timeout=timeout, environment=environment, **event)


class LocalRun:
    def __init__(self, directory: Path, runtime: LocalRuntime, log_file: Path, events: list[tuple[str, Any]]) -> None:
        self.directory, self.runtime, self.log_file, self.events = directory, runtime, log_file, events

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [data for event_kind, data in list(self.events) if event_kind == kind]

    def lines(self) -> list[str]:
        """What the runtime printed for its functions: their output and Lambda's platform lines."""
        return [data["line"] for kind, data in list(self.events) if kind in ("log", "report")]

    def url(self, logical: str) -> str:
        return self.runtime.resources.queue_urls[logical]

    def send(self, logical: str, body: Any, **options: Any) -> None:
        from sqs_lambda import aws

        text = body if isinstance(body, str) else json.dumps(body)
        aws.client("sqs").send_message(QueueUrl=self.url(logical), MessageBody=text, **options)

    def log(self) -> list[dict[str, Any]]:
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]

    def wait_for(self, condition: Callable[[], bool], seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.2)
        raise AssertionError(f"condition not met in {seconds}s; log: {self.log()}")

    def total(self, logical: str) -> int:
        return sum(self.runtime.queue_counts()[logical].values())


@pytest.fixture
def run_local(sqs_local: Any, tmp_path: Path) -> Iterator[Callable[..., LocalRun]]:
    started: list[LocalRuntime] = []

    def start(
        build: Callable[[Path], dict[str, Any]],
        *,
        fire_schedules: bool = False,
        background: bool = True,
        **options: Any,
    ) -> LocalRun:
        stage = f"t{uuid.uuid4().hex[:8]}"
        (tmp_path / "src").mkdir(exist_ok=True)
        (tmp_path / "src" / "app.py").write_text(textwrap.dedent(FUNCTION_CODE))
        log_file = tmp_path / "log.jsonl"
        (tmp_path / "template.yaml").write_text(json.dumps(sam_template(build(log_file), stage=stage)))
        events: list[tuple[str, Any]] = []
        runtime = LocalRuntime(
            RuntimeOptions(
                template=tmp_path / "template.yaml",
                endpoint_url=sqs_local.url,
                fire_schedules=fire_schedules,
                state_dir=tmp_path / ".state",
                **options,
            ),
            on_event=lambda kind, data: events.append((kind, data)),
        )
        started.append(runtime)
        runtime.start()
        if background:
            runtime.run_background()
        return LocalRun(tmp_path, runtime, log_file, events)

    yield start
    for runtime in started:
        runtime.stop()

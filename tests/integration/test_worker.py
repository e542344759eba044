"""Worker mode against the embedded engine: the same router, polled by a long-running worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda import Reject, Router
from sqs_lambda.consuming import backoff, failure
from sqs_lambda.errors import ConfigurationError
from sqs_lambda.worker import Shutdown, Worker
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


def start(worker: Worker) -> threading.Thread:
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return thread


def test_jobs_run_and_successes_are_deleted(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = Router(queue_url=sqs_queue.url)
    ran: list[int] = []

    @router.job()
    def work(n: int) -> None:
        ran.append(n)

    for n in range(25):
        work.delay(n=n)
    worker = Worker(
        router, sqs_queue.url, backend=sqs_local.backend, wait=1, concurrency=2, shutdown=Shutdown.parse("after:25")
    )
    assert worker.run() == 0
    assert sorted(ran) == list(range(25)) and worker.succeeded == 25
    assert sqs_local.total(sqs_queue.url) == 0


@pytest.mark.sqs_queue(visibility_timeout=2)
def test_a_job_longer_than_the_visibility_timeout_is_not_redelivered(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = Router(queue_url=sqs_queue.url)
    ran: list[int] = []

    @router.job()
    def long(n: int) -> None:
        ran.append(n)
        time.sleep(5)  # 2.5 x the queue's visibility timeout

    long.delay(n=1)
    worker = Worker(router, sqs_queue.url, backend=sqs_local.backend, wait=1, shutdown=Shutdown.parse("after:1"))
    thread = start(worker)
    while not ran:  # the worker has it (a receive before that would take it from the worker)
        time.sleep(0.05)
    stolen: list[Any] = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and thread.is_alive():  # a second consumer finds nothing meanwhile
        stolen += sqs_local.receive(sqs_queue.url, wait=1)
    thread.join(10)
    assert stolen == [] and ran == [1]
    assert sqs_local.total(sqs_queue.url) == 0


APP = """
import os, time
from sqs_lambda import Router

router = Router()


@router.job()
def step(n: int) -> None:
    with open(os.environ["LEDGER"], "a") as out:
        out.write(f"started {n}\\n")
    if n == 0:
        time.sleep(3)
    with open(os.environ["LEDGER"], "a") as out:
        out.write(f"done {n}\\n")
"""


@pytest.mark.sqs_queue(visibility_timeout=60)
def test_sigterm_finishes_the_running_job_and_releases_the_rest(
    sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    ledger = tmp_path / "ledger.txt"
    router = Router(queue_url=sqs_queue.url)
    router.job("step")(lambda n: None)
    router.producer.send_many([("step", {"n": n}) for n in range(5)], concurrency=1)
    command = [sys.executable, "-m", "sqs_lambda_dev.cli", "worker", "app:router", "--queue", sqs_queue.url]
    command += ["--endpoint-url", sqs_local.url, "--wait", "1", "--grace", "10", "--batch-size", "10"]
    process = subprocess.Popen(
        command, cwd=tmp_path, env={**os.environ, "LEDGER": str(ledger)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 30
    while not (ledger.exists() and "started 0" in ledger.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    lines = ledger.read_text().split("\n")
    assert lines[0] == "started 0", lines  # the batch's first job is running
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0, process.stderr.read() if process.stderr else ""
    assert ledger.read_text().splitlines() == ["started 0", "done 0"]  # finished; nothing else started
    released = sqs_local.receive(sqs_queue.url, wait=1)  # at once, though the visibility timeout is 60 s
    assert len(released) == 4


def test_sigterm_on_an_idle_worker_stops_it_at_once(sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path) -> None:
    """Before: 17.7 s, waiting out the 20 s long poll."""
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    command = [sys.executable, "-m", "sqs_lambda_dev.cli", "worker", "app:router", "--queue", sqs_queue.url]
    command += ["--endpoint-url", sqs_local.url, "--wait", "20"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(3)  # imported, and in its first long poll
    assert process.poll() is None
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("policy", ["idle:1", "after:3"])
def test_shutdown_policies(sqs_local: LocalSqs, sqs_queue: QueuePair, policy: str) -> None:
    router = Router(queue_url=sqs_queue.url)
    ran: list[int] = []
    router.job("work")(lambda n: ran.append(n))
    if policy.startswith("after"):
        router.producer.send_many([("work", {"n": n}) for n in range(5)], concurrency=1)
    worker = Worker(
        router, sqs_queue.url, backend=sqs_local.backend, wait=1, batch_size=1, shutdown=Shutdown.parse(policy)
    )
    started = time.monotonic()
    assert worker.run() == 0
    if policy == "idle:1":
        assert ran == [] and time.monotonic() - started < 5
    else:
        assert len(ran) == 3 and sqs_local.total(sqs_queue.url) == 2


def test_shutdown_policy_text_is_checked() -> None:
    assert Shutdown.parse("never") == Shutdown()
    for bad in ("sometimes", "idle:", "after:1.5", "after:-1"):
        with pytest.raises(ConfigurationError):
            Shutdown.parse(bad)


@pytest.mark.sqs_queue(fifo=True, visibility_timeout=5)
def test_fifo_order_is_kept_under_a_failure(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = Router(queue_url=sqs_queue.url, default_backoff=backoff.immediate())
    seen: list[tuple[int, bool]] = []
    failed_once: set[int] = set()

    @router.job()
    def ordered(n: int) -> None:
        first = n == 2 and n not in failed_once
        seen.append((n, not first))
        if first:
            failed_once.add(n)
            raise RuntimeError("first attempt of 2 fails")

    for n in range(5):
        ordered.delay(n=n, group_id="g")
    worker = Worker(
        router, sqs_queue.url, backend=sqs_local.backend, wait=1, concurrency=2, shutdown=Shutdown.parse("idle:3")
    )
    worker.run()
    assert [n for n, ok in seen if ok] == [0, 1, 2, 3, 4]
    assert seen.index((2, False)) < seen.index((2, True))


def test_poison_messages_reach_the_dlq_with_their_reasons(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = Router(queue_url=sqs_queue.url)

    @router.job()
    def poison() -> None:
        raise Reject("cannot ever work")

    poison.delay()
    sqs_local.client.send_message(QueueUrl=sqs_queue.url, MessageBody="not json at all")
    worker = Worker(router, sqs_queue.url, backend=sqs_local.backend, wait=1, shutdown=Shutdown.parse("idle:2"))
    worker.run()
    dead = sqs_local.receive(sqs_queue.dlq_url, wait=1)
    reasons = sorted(failure.read_failure(m["MessageAttributes"])["error_type"] for m in dead)
    assert reasons == ["NoRouteError", "Reject"] and sqs_local.total(sqs_queue.url) == 0


def test_health_endpoint_answers_while_the_poll_loop_lives(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    from sqs_lambda_dev.engine.moto_server import free_port

    port = free_port()
    router = Router(queue_url=sqs_queue.url)
    worker = Worker(router, sqs_queue.url, backend=sqs_local.backend, wait=1, health_port=port, health_host="127.0.0.1")
    thread = start(worker)
    deadline = time.monotonic() + 10
    body: dict[str, Any] = {}
    while time.monotonic() < deadline and not body:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                body = json.loads(response.read()) if response.status == 200 else {}
        except OSError:
            time.sleep(0.2)
    assert body.get("status") == "ok"
    worker.stop()
    thread.join(10)
    assert not worker.healthy()


PROCESS_APP = """
import os
from sqs_lambda import Router

router = Router()


@router.job()
def work(n: int) -> None:
    import time
    time.sleep(0.2)
    with open(os.environ["LEDGER"], "a") as out:
        out.write(f"{n} {os.getpid()}\\n")
"""


def test_python_m_worker_runs_processes_without_the_cli(
    sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(PROCESS_APP))
    ledger = tmp_path / "ledger.txt"
    router = Router(queue_url=sqs_queue.url)
    router.job("work")(lambda n: None)
    router.producer.send_many([("work", {"n": n}) for n in range(12)], concurrency=1)
    command = [sys.executable, "-m", "sqs_lambda.worker", "app:router", "--queue", sqs_queue.url]
    command += ["--endpoint-url", sqs_local.url, "--processes", "2", "--batch-size", "2", "--wait", "1"]
    command += ["--shutdown", "idle:3"]
    result = subprocess.run(
        command, cwd=tmp_path, env={**os.environ, "LEDGER": str(ledger)}, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    entries = [line.split() for line in ledger.read_text().splitlines()]
    assert sorted(int(n) for n, _ in entries) == list(range(12))
    assert len({pid for _, pid in entries}) == 2  # both processes took work
    assert sqs_local.total(sqs_queue.url) == 0


def test_shutdown_policies_are_values_that_compose() -> None:
    from sqs_lambda.worker import shutdown

    either = shutdown.idle(30) | shutdown.after(1000)
    assert either == Shutdown.parse("idle:30|after:1000") and str(either) == "idle:30|after:1000"
    assert not either.reached(handled=999, idle_seconds=29)
    assert either.reached(handled=1000, idle_seconds=0) and either.reached(handled=0, idle_seconds=30)
    assert either.limit() == 1000 and (shutdown.after(5) | shutdown.after(3)).limit() == 3
    assert Shutdown().limit() is None and not Shutdown().reached(10**9, 10**9)
    with pytest.raises(ConfigurationError, match="several joined by"):
        Shutdown.parse("idle:30|sometimes")

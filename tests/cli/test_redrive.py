"""`sqs-lambda peek` and `redrive`: a DLQ's messages read with their reasons, moved back or run in place,
and a redrive that ends while the consumer keeps failing."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from sqs_lambda import Reject, Router
from sqs_lambda.consuming import failure
from sqs_lambda.wire import envelope as wire
from sqs_lambda_dev import ops
from sqs_lambda_dev.local.invocation import InProcessFunction
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

from .test_cli import cli


def test_peek_shows_the_failure_reason_and_redrive_moves_back(
    sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path
) -> None:
    router = Router(queue_url=sqs_queue.url)

    @router.job()
    def poison() -> None:
        raise Reject("bad data")

    poison.delay()
    sqs_local.deliver(router, sqs_queue)
    assert sqs_local.total(sqs_queue.dlq_url) == 1
    (peeked,) = json.loads(cli("peek", sqs_queue.dlq_url, endpoint=sqs_local.url, cwd=tmp_path).stdout)
    assert peeked["failure"]["error_type"] == "Reject" and peeked["failure"]["error_message"] == "bad data"
    dry = cli("redrive", sqs_queue.dlq_url, "--dry-run", endpoint=sqs_local.url, cwd=tmp_path)
    assert "would move 1 message(s)" in dry.stdout and sqs_local.total(sqs_queue.dlq_url) == 1
    moved = cli("redrive", sqs_queue.dlq_url, "--to", sqs_queue.url, endpoint=sqs_local.url, cwd=tmp_path)
    assert "moved 1 message(s)" in moved.stdout and "receive-send-delete" in moved.stdout
    assert sqs_local.total(sqs_queue.dlq_url) == 0
    back = sqs_local.receive(sqs_queue.url, wait=1)[0]
    assert failure.read_failure(back.get("MessageAttributes", {})) == {}
    assert back["MessageAttributes"]["job"]["StringValue"] == "poison"


def test_redrive_finds_the_source_queue(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    sqs_local.client.send_message(QueueUrl=sqs_queue.dlq_url, MessageBody="x")
    assert ops.source_of(sqs_local.backend, sqs_queue.dlq_url, [sqs_queue.dlq_url, sqs_queue.url]) == sqs_queue.url
    result = ops.redrive(sqs_local.backend, sqs_queue.dlq_url, sqs_queue.url, rate=50)
    assert result.moved == 1 and sqs_local.total(sqs_queue.url) == 1


def test_redrive_in_place_runs_the_handler_and_keeps_failures(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = Router(queue_url=sqs_queue.url)
    ran: list[int] = []

    @router.job()
    def fixed(n: int) -> None:
        ran.append(n)
        if n == 3:
            raise RuntimeError("still broken")

    for n in range(4):
        body, _ = wire.encode("fixed", {"n": n})
        sqs_local.client.send_message(QueueUrl=sqs_queue.dlq_url, MessageBody=body)
    ok, failed = ops.redrive_in_place(sqs_local.backend, sqs_queue.dlq_url, InProcessFunction(router.lambda_handler))
    assert (ok, failed) == (3, 1) and sorted(ran) == [0, 1, 2, 3]
    assert sqs_local.total(sqs_queue.dlq_url) == 1


def poison_in_dlq(sqs_local: LocalSqs, queue: QueuePair, count: int) -> Router:
    """``count`` rejected jobs in the queue's DLQ; returns the router that keeps rejecting them."""
    router = Router(queue_url=queue.url)

    @router.job()
    def poison(n: int) -> None:
        raise Reject("still bad")

    for n in range(count):
        poison.delay(n=n)
    while sqs_local.total(queue.url):
        sqs_local.deliver(router, queue)
    assert sqs_local.total(queue.dlq_url) == count
    return router


def keep_consuming(sqs_local: LocalSqs, router: Router, queue: QueuePair, stop: threading.Event) -> threading.Thread:
    def consume() -> None:
        while not stop.is_set():
            sqs_local.deliver(router, queue, wait=0)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(90)
def test_a_redrive_ends_while_the_consumer_keeps_failing_the_messages(
    sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    router = poison_in_dlq(sqs_local, sqs_queue, 3)
    stop = threading.Event()
    consumer = keep_consuming(sqs_local, router, sqs_queue, stop)
    try:
        started = time.monotonic()
        result = ops.redrive(sqs_local.backend, sqs_queue.dlq_url, sqs_queue.url, use_move_task=False)
        assert time.monotonic() - started < 30
    finally:
        stop.set()
        consumer.join(10)
    assert (result.to_move, result.moved) == (3, 3)  # each message moved once, as StartMessageMoveTask would
    assert result.remaining is not None and result.returned <= result.remaining <= 3
    deadline = time.monotonic() + 10
    while sqs_local.total(sqs_queue.url) and time.monotonic() < deadline:
        sqs_local.deliver(router, sqs_queue, wait=0)
    assert sqs_local.total(sqs_queue.dlq_url) == 3  # failed again, each with its reason: nothing lost or doubled
    reasons = [failure.read_failure(m["MessageAttributes"]) for m in sqs_local.receive(sqs_queue.dlq_url, wait=1)]
    assert reasons and all(r["error_message"] == "still bad" for r in reasons)


@pytest.mark.timeout(90)
def test_an_in_place_redrive_ends_while_new_failures_arrive(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = poison_in_dlq(sqs_local, sqs_queue, 3)
    stop = threading.Event()

    def keep_failing() -> None:  # the live consumer keeps dead-lettering new messages meanwhile
        while not stop.wait(0.05):
            body, _ = wire.encode("poison", {"n": 99})
            sqs_local.client.send_message(QueueUrl=sqs_queue.dlq_url, MessageBody=body)

    feeder = threading.Thread(target=keep_failing, daemon=True)
    feeder.start()
    try:
        started = time.monotonic()
        ok, failed = ops.redrive_in_place(
            sqs_local.backend, sqs_queue.dlq_url, InProcessFunction(router.lambda_handler)
        )
        assert time.monotonic() - started < 30
    finally:
        stop.set()
        feeder.join(5)
    assert ok == 0 and failed == 3  # the three it held at the start, once each

"""The failure policy end to end: moto over HTTP, the trigger emulation, and the router."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from sqs_lambda import Reject, Retry, Router
from sqs_lambda.consuming import backoff, effects, failure
from sqs_lambda.consuming import batch as batch_module
from sqs_lambda.producing import producer as producer_module
from sqs_lambda.wire import codec
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


def test_always_failing_job_backs_off_then_lands_in_dlq_with_reason(
    sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any
) -> None:
    router = Router(queue_url=sqs_queue.url)
    attempts: list[int] = []

    @router.job(max_retries=3, backoff=backoff.exponential(base=2, min=0, max=900, jitter=0))
    def charge(order_id: str) -> None:
        attempts.append(1)
        raise RuntimeError("gateway down")

    visibility = hooks.record("ChangeMessageVisibilityBatch")
    charge.delay(order_id="o-1")
    sqs_local.deliver_until(router, sqs_queue, lambda: sqs_local.total(sqs_queue.dlq_url) == 1)
    assert len(attempts) == 4  # one attempt and three retries
    # 0 * 2**n would be 0: use the values actually sent per call
    assert [c["Entries"][0]["VisibilityTimeout"] for c in visibility] == [0, 0, 0]
    assert all(len(c["Entries"]) == 1 for c in visibility)
    dead = sqs_local.receive(sqs_queue.dlq_url, wait=1)[0]
    reason = failure.read_failure(dead["MessageAttributes"])
    assert reason["error_type"] == "RuntimeError" and reason["error_message"] == "gateway down"
    assert reason["attempts"] == "4" and reason["job"] == "charge"
    assert reason["source_queue"] == sqs_queue.name and reason["failed_at"].endswith("Z")
    decoded = wire.decode(dead["Body"])
    assert isinstance(decoded, wire.Envelope) and codec.loads(decoded.kwargs) == {"order_id": "o-1"}
    assert sqs_local.total(sqs_queue.url) == 0


def test_visibility_grows_with_the_policy(sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any) -> None:
    router = Router(queue_url=sqs_queue.url)

    @router.job(backoff=backoff.exponential(base=2, min=1, max=900, jitter=0))
    def flaky() -> None:
        raise RuntimeError("again")

    visibility = hooks.record("ChangeMessageVisibilityBatch")
    flaky.delay()
    sqs_local.deliver_until(router, sqs_queue, lambda: len(visibility) >= 3, seconds=30)
    assert [c["Entries"][0]["VisibilityTimeout"] for c in visibility[:3]] == [1, 2, 4]


def test_backoff_is_one_call_per_ten_failures(sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any) -> None:
    router = Router(queue_url=sqs_queue.url)
    router.job("bad", backoff=backoff.constant(30))(lambda n: (_ for _ in ()).throw(RuntimeError("x")))
    visibility = hooks.record("ChangeMessageVisibilityBatch")
    router.producer.send_many([("bad", {"n": n}) for n in range(10)])
    verdict = sqs_local.deliver(router, sqs_queue, batch_size=10, wait=1)
    assert verdict is not None and len(verdict.failed) == len([e for c in visibility for e in c["Entries"]])
    assert len(visibility) == 1 and {e["VisibilityTimeout"] for e in visibility[0]["Entries"]} == {30}


def test_reject_and_unknown_job_go_to_the_dlq_on_the_first_attempt(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = Router(queue_url=sqs_queue.url)
    router.job("charge")(lambda: (_ for _ in ()).throw(Reject("order is invalid")))
    router.producer.send("charge")
    router.producer.send("no_such_job")
    sqs_local.deliver_until(router, sqs_queue, lambda: sqs_local.total(sqs_queue.dlq_url) == 2)
    reasons = {
        failure.read_failure(m["MessageAttributes"])["error_type"] for m in sqs_local.receive(sqs_queue.dlq_url, wait=1)
    }
    assert reasons == {"Reject", "UnknownJobError"}
    assert sqs_local.total(sqs_queue.url) == 0


def test_retry_delay_is_exact(sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any) -> None:
    router = Router(queue_url=sqs_queue.url)
    router.job("busy")(lambda: (_ for _ in ()).throw(Retry(delay=60)))
    visibility = hooks.record("ChangeMessageVisibilityBatch")
    router.producer.send("busy")
    sqs_local.deliver(router, sqs_queue)
    assert visibility[0]["Entries"][0]["VisibilityTimeout"] == 60
    assert sqs_local.counts(sqs_queue.url)["in_flight"] == 1


def test_dlq_send_failure_keeps_the_message(sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any) -> None:
    router = Router(queue_url=sqs_queue.url)
    router.job("poison")(lambda: (_ for _ in ()).throw(Reject("bad")))

    def refuse(params: dict[str, Any], **_: Any) -> None:
        if params["QueueUrl"] == sqs_queue.dlq_url:
            raise ConnectionError("injected: the DLQ is unreachable")

    hooks.on("provide-client-params.sqs.SendMessage", refuse)
    router.producer.send("poison")
    verdict = sqs_local.deliver(router, sqs_queue)
    assert verdict is not None and len(verdict.failed) == 1
    assert sqs_local.total(sqs_queue.url) == 1 and sqs_local.total(sqs_queue.dlq_url) == 0


def test_long_delay_runs_once_after_hops(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = dt.datetime.now(dt.UTC)
    began = time.monotonic()
    # compressed time: one real second is 1,000 seconds, and a hop waits at most one real second
    compressed = lambda: start + dt.timedelta(seconds=(time.monotonic() - began) * 1000)  # noqa: E731
    monkeypatch.setattr(batch_module, "_now", compressed)
    monkeypatch.setattr(effects, "MAX_HOP_DELAY", 1)
    monkeypatch.setattr(producer_module, "MAX_SQS_DELAY", 1)
    router = Router(queue_url=sqs_queue.url)
    ran: list[float] = []
    router.job("reminder")(lambda: ran.append(time.monotonic() - began))
    router.producer.send("reminder", delay=3600)
    sqs_local.deliver_until(router, sqs_queue, lambda: bool(ran), seconds=20)
    sqs_local.deliver_until(router, sqs_queue, lambda: False, seconds=2)
    assert len(ran) == 1 and ran[0] >= 3.5  # 3,600 virtual seconds


def test_fifo_order_is_kept_across_retries(sqs_local: LocalSqs) -> None:
    pair = sqs_local.create_queue_pair("ordered", fifo=True)
    router = Router(queue_url=pair.url, default_backoff=backoff.immediate())
    order: list[int] = []
    failures_left = {"n": 2}

    @router.job()
    def step(n: int) -> None:
        order.append(n)
        if n == 2 and failures_left["n"]:
            failures_left["n"] -= 1
            raise RuntimeError("not yet")

    for n in range(5):
        step.apply_async({"n": n}, group_id="tenant-1")
    sqs_local.deliver_until(router, pair, lambda: 4 in order, seconds=30)
    assert order == [0, 1, 2, 2, 2, 3, 4]

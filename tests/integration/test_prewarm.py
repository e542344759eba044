"""``SQS_LAMBDA_PREWARM=true``: a router built at init reads its queue's and DLQ's facts then, so a first
DLQ copy in a fresh environment makes one call (SendMessage); off by default, and it never fails init."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from sqs_lambda import Reject, Router, aws, settings
from sqs_lambda.aws.sqs import default_backend
from sqs_lambda.consuming import failure
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


def calls_made(client: Any) -> list[str]:
    made: list[str] = []
    client.meta.events.register("before-call.sqs.*", lambda model, **_: made.append(model.name))
    return made


def test_the_first_dlq_copy_is_one_call_after_prewarming(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.QUEUE_URL, sqs_queue.url)
    monkeypatch.setenv(settings.PREWARM, "true")
    aws.reset()  # a fresh environment: no client, no queue facts
    router = Router()
    router.job("refuse")(lambda: (_ for _ in ()).throw(Reject("not this one")))
    made = calls_made(default_backend().client(sqs_queue.url))
    router.producer.send("refuse")
    verdict = sqs_local.deliver(router, sqs_queue)
    assert verdict is not None and verdict.failed == []
    assert made == ["SendMessageBatch", "SendMessage"]  # the producer's send, then the DLQ copy: no lookups
    (copied,) = sqs_local.receive(sqs_queue.dlq_url, wait=1)
    assert failure.read_failure(copied["MessageAttributes"])["error_message"] == "not this one"


def test_without_prewarming_the_first_copy_looks_the_queues_up(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(settings.QUEUE_URL, sqs_queue.url)
    aws.reset()
    router = Router()
    router.job("refuse")(lambda: (_ for _ in ()).throw(Reject("no")))
    made = calls_made(default_backend().client(sqs_queue.url))
    router.producer.send("refuse")
    sqs_local.deliver(router, sqs_queue)
    assert made.count("GetQueueAttributes") >= 2 and made[-1] == "SendMessage"  # source, DLQ, then the copy


def test_prewarming_a_missing_queue_logs_and_never_fails_init(
    sqs_local: LocalSqs, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(settings.QUEUE_URL, f"{sqs_local.url}/123456789012/no-such-queue")
    monkeypatch.setenv(settings.PREWARM, "true")
    aws.reset()
    caplog.set_level(logging.INFO)
    Router()  # does not raise
    assert "could not warm the failure path at init" in caplog.text

"""Effectively-once jobs on the embedded engine (SQS and DynamoDB on one moto server)."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import threading
import time
from typing import Any

import pytest

from sqs_lambda import Router, aws
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

pytestmark = pytest.mark.usefixtures("idempotency_table")


def send_twice(sqs_local: LocalSqs, queue: QueuePair, job: str, **kwargs: Any) -> str:
    """The same send delivered twice (what a producer retry or an at-least-once redelivery looks like)."""
    body, envelope_id = wire.encode(job, kwargs)
    for _ in range(2):
        sqs_local.client.send_message(QueueUrl=queue.url, MessageBody=body)
    return envelope_id


def test_a_redelivered_envelope_runs_once_and_the_duplicate_is_logged(
    sqs_local: LocalSqs, sqs_queue: QueuePair, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    router = Router(queue_url=sqs_queue.url)
    runs: list[str] = []

    @router.job(idempotent=True)
    def charge(order: str) -> None:
        runs.append(order)

    send_twice(sqs_local, sqs_queue, "charge", order="o-1")
    judgement = sqs_local.deliver(router, sqs_queue, batch_size=10)
    assert judgement is not None and judgement.failed == [] and len(judgement.succeeded) == 2
    assert runs == ["o-1"]
    assert sqs_local.total(sqs_queue.url) == 0 and sqs_local.total(sqs_queue.dlq_url) == 0
    (skipped,) = [r for r in caplog.records if r.getMessage().startswith("duplicate skipped")]
    assert skipped.levelname == "INFO" and skipped.__dict__["job"] == "charge"


def test_a_key_over_the_arguments_makes_one_run_per_value(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router = Router(queue_url=sqs_queue.url)
    runs: list[tuple[str, int]] = []

    @router.job(idempotent=True, idempotency_key=lambda file_id: file_id)
    def process(file_id: str, attempt_note: int) -> None:
        runs.append((file_id, attempt_note))

    for note in range(3):
        process.delay(file_id="f-1", attempt_note=note)
    process.delay(file_id="f-2", attempt_note=9)
    sqs_local.deliver(router, sqs_queue, batch_size=10)
    assert sorted(file_id for file_id, _ in runs) == ["f-1", "f-2"]


def test_a_failed_run_deletes_its_key_so_the_retry_runs(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    from sqs_lambda.consuming import backoff

    router = Router(queue_url=sqs_queue.url, default_backoff=backoff.immediate())
    runs: list[int] = []

    @router.job(idempotent=True)
    def flaky(n: int) -> None:
        runs.append(n)
        if len(runs) == 1:
            raise RuntimeError("first attempt fails")

    flaky.delay(n=1)
    first = sqs_local.deliver(router, sqs_queue)
    assert first is not None and len(first.failed) == 1
    second = sqs_local.deliver(router, sqs_queue, wait=3)
    assert second is not None and second.failed == [] and runs == [1, 1]
    third_copy_of_same_envelope = sqs_local.deliver(router, sqs_queue, wait=1)
    assert third_copy_of_same_envelope is None  # deleted after the success


def test_a_duplicate_while_the_first_run_is_in_progress_is_retried_not_run(
    sqs_local: LocalSqs, sqs_queue: QueuePair
) -> None:
    router = Router(queue_url=sqs_queue.url)
    started, release = threading.Event(), threading.Event()
    runs: list[str] = []

    @router.job(idempotent=True)
    def slow(order: str) -> None:
        runs.append(order)
        started.set()
        release.wait(10)

    send_twice(sqs_local, sqs_queue, "slow", order="o-9")
    first_copy = sqs_local.receive(sqs_queue.url, max_messages=1, wait=1)
    second_copy = sqs_local.receive(sqs_queue.url, max_messages=1, wait=1)
    assert len(first_copy) == len(second_copy) == 1
    from sqs_lambda.wire.records import from_message as lambda_record
    from sqs_lambda_dev.events import lambda_context

    def event(message: dict[str, Any]) -> dict[str, Any]:
        return {"Records": [lambda_record(message, arn=sqs_queue.arn)]}

    results: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: results.update(first=router.lambda_handler(event(first_copy[0]), lambda_context(60_000)))
    )
    first.start()
    assert started.wait(10)
    duplicate = router.lambda_handler(event(second_copy[0]), lambda_context(60_000))
    assert duplicate == {"batchItemFailures": [{"itemIdentifier": second_copy[0]["MessageId"]}]}
    release.set()
    first.join(10)
    assert results["first"] == {"batchItemFailures": []} and runs == ["o-9"]


def test_expiry_defaults_to_the_queues_retention(sqs_local: LocalSqs, idempotency_table: str) -> None:
    queue = sqs_local.create_queue_pair(f"t{time.time_ns()}")
    sqs_local.client.set_queue_attributes(QueueUrl=queue.url, Attributes={"MessageRetentionPeriod": "600"})
    router = Router(queue_url=queue.url)

    @router.job(idempotent=True)
    def once(n: int) -> None:
        pass

    @router.job(idempotent=True, expires_after=90)
    def briefly(n: int) -> None:
        pass

    once.delay(n=1)
    briefly.delay(n=1)
    sqs_local.deliver(router, queue, batch_size=10)
    items = aws.client("dynamodb").scan(TableName=idempotency_table)["Items"]
    expirations = {item["id"]["S"].split("#")[0]: int(item["expiration"]["N"]) for item in items}
    now = time.time()
    assert abs(expirations["sqs-lambda.once"] - (now + 600)) < 30
    assert abs(expirations["sqs-lambda.briefly"] - (now + 90)) < 30
    assert {item["status"]["S"] for item in items} == {"COMPLETED"}


def test_without_a_table_the_record_is_retried_with_the_reason(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("SQS_LAMBDA_IDEMPOTENCY_TABLE")
    router = Router(queue_url=sqs_queue.url)
    runs: list[int] = []

    @router.job(idempotent=True)
    def guarded(n: int) -> None:
        runs.append(n)

    guarded.delay(n=1)
    judgement = sqs_local.deliver(router, sqs_queue)
    assert judgement is not None and len(judgement.failed) == 1 and runs == []
    assert any("set SQS_LAMBDA_IDEMPOTENCY_TABLE" in str(r.__dict__.get("error_message")) for r in caplog.records)


def test_async_idempotent_jobs_run_once(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    from sqs_lambda.consuming import backoff

    router = Router(queue_url=sqs_queue.url, default_backoff=backoff.immediate())
    runs: list[str] = []

    @router.job(idempotent=True)
    async def notify(user: str) -> None:
        await asyncio.sleep(0.2)
        runs.append(user)

    send_twice(sqs_local, sqs_queue, "notify", user="u-1")
    judgement = sqs_local.deliver(router, sqs_queue, batch_size=10)
    # async jobs of a batch run concurrently: the copy that finds the first run in progress is retried
    assert judgement is not None and len(judgement.succeeded) >= 1
    while sqs_local.total(sqs_queue.url):
        sqs_local.deliver(router, sqs_queue, batch_size=10, wait=2)
    assert runs == ["u-1"] and sqs_local.total(sqs_queue.dlq_url) == 0


def test_nothing_of_idempotency_is_imported_until_an_idempotent_job_runs() -> None:
    probe = (
        "import sys\n"
        "from sqs_lambda import Router\n"
        "router = Router()\n"
        "@router.job(idempotent=True)\n"
        "def once(n: int) -> None: pass\n"
        "loaded = [m for m in sys.modules if 'idempotency' in m or m == 'boto3' or m.startswith('boto3.')]\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_idempotency_options_need_idempotent_true() -> None:
    from sqs_lambda.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="need idempotent=True"):
        Router().job(expires_after=60)


def test_expiry_reads_the_retention_through_the_routers_own_port(idempotency_table: str) -> None:
    """Before: the retention was read through boto3's default client, whatever port the router had."""
    import dataclasses

    from sqs_lambda.aws.sqs import QueueInfo
    from sqs_lambda_testing import InMemoryQueue, lambda_context, sqs_event

    asked: list[str | None] = []

    class Port(InMemoryQueue):
        def queue_info(self, *, url: str | None = None, arn: str | None = None) -> QueueInfo:
            asked.append(arn)
            return dataclasses.replace(super().queue_info(url=url, arn=arn), retention=1234)

    router = Router()
    router.backend = Port()

    @router.job(idempotent=True)
    def remembered(n: int) -> None: ...

    event = sqs_event(("remembered", {"n": 1}), queue="remembered-jobs")
    assert router.lambda_handler(event, lambda_context(60_000, sqs=None)) == {"batchItemFailures": []}
    assert asked == [event["Records"][0]["eventSourceARN"]]
    items = aws.client("dynamodb").scan(TableName=idempotency_table)["Items"]
    (expiration,) = [int(i["expiration"]["N"]) for i in items if i["id"]["S"].startswith("sqs-lambda.remembered")]
    assert abs(expiration - (time.time() + 1234)) < 30

"""The pytest plugin's fixtures, as users use them."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from sqs_lambda import Router
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


@pytest.mark.sqs_queue(fifo=True, visibility_timeout=5)
def test_fifo_queue_fixture_and_router_delivery(
    sqs_local: LocalSqs, sqs_queue: QueuePair, sqs_lambda_router: Any
) -> None:
    assert sqs_queue.fifo and sqs_queue.name.endswith(".fifo") and sqs_queue.dlq_url.endswith("-dlq.fifo")
    router = Router(queue_url=sqs_queue.url)
    seen: list[int] = []
    router.job("step")(lambda n: seen.append(n))
    for n in range(3):
        router.producer.send("step", n=n, group_id="g")
    verdict = sqs_lambda_router(router, sqs_queue)
    assert verdict.failed == [] and seen == [0, 1, 2]
    assert sqs_local.total(sqs_queue.url) == 0


def test_sqs_local_points_boto3_at_the_embedded_endpoint(sqs_local: LocalSqs) -> None:
    import os

    import boto3

    assert os.environ["AWS_ENDPOINT_URL_SQS"] == sqs_local.url and sqs_local.url.startswith("http://127.0.0.1:")
    client = boto3.client("sqs", region_name="us-east-1")
    assert client.create_queue(QueueName="plain-boto3")["QueueUrl"].startswith(sqs_local.url)


def test_redrive_uses_start_message_move_task_where_supported(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    from sqs_lambda_dev import ops

    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    def supported(**_: Any) -> Any:  # answer as AWS does (moto has no move tasks)
        return SimpleNamespace(status_code=200, headers={}), {"TaskHandle": "task-1"}

    client = sqs_local.backend.client()
    client.meta.events.register("provide-client-params.sqs.StartMessageMoveTask", record)
    client.meta.events.register("before-call.sqs.StartMessageMoveTask", supported)
    try:
        result = ops.redrive(sqs_local.backend, sqs_queue.dlq_url, sqs_queue.url, rate=25)
    finally:
        client.meta.events.unregister("provide-client-params.sqs.StartMessageMoveTask", record)
        client.meta.events.unregister("before-call.sqs.StartMessageMoveTask", supported)
    assert (result.method, result.task_handle) == ("StartMessageMoveTask", "task-1")
    assert calls[0]["SourceArn"] == sqs_queue.dlq_arn and calls[0]["DestinationArn"] == sqs_queue.arn
    assert calls[0]["MaxNumberOfMessagesPerSecond"] == 25


def test_signing_keys_from_ssm_and_secrets_manager(sqs_local: LocalSqs) -> None:
    from sqs_lambda import aws
    from sqs_lambda.wire import signing

    aws.client("ssm").put_parameter(Name="/jobs/key", Value="k-ssm", Type="SecureString")
    aws.client("secretsmanager").create_secret(Name="jobs/keys", SecretString="k-new,k-old")
    assert signing.keys(signing.from_ssm("/jobs/key")) == [b"k-ssm"]
    loader = signing.from_secrets_manager("jobs/keys")
    assert signing.keys(loader) == [b"k-new", b"k-old"]
    aws.client("secretsmanager").put_secret_value(SecretId="jobs/keys", SecretString="changed")
    assert signing.keys(loader) == [b"k-new", b"k-old"]  # loaded once per container


def test_the_router_fixture_tells_succeeded_from_dead_lettered(
    sqs_local: LocalSqs, sqs_queue: QueuePair, sqs_lambda_router: Any
) -> None:
    from sqs_lambda import Reject
    from sqs_lambda_testing.sqs import Delivery

    router = Router(queue_url=sqs_queue.url)

    @router.job()
    def check(n: int) -> None:
        if n == 1:
            raise Reject("one is poison")
        if n == 2:
            raise RuntimeError("two fails for now")

    ids = [router.producer.send("check", n=n) for n in range(3)]
    delivery = sqs_lambda_router(router, sqs_queue)
    assert isinstance(delivery, Delivery)
    assert delivery.succeeded == [ids[0]] and delivery.dead_lettered == [ids[1]] and delivery.failed == [ids[2]]
    assert not delivery.whole_batch_failed and sqs_local.total(sqs_queue.dlq_url) == 1

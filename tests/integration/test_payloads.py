"""Payloads over the SQS limit as S3 pointers (AWS's extended-client format), on the embedded engine."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest

from sqs_lambda import Reject, Router, aws
from sqs_lambda.consuming import failure
from sqs_lambda.errors import MessageTooLargeError
from sqs_lambda.producing.producer import Producer
from sqs_lambda.wire.payloads import POINTER_CLASS, SIZE_ATTRIBUTE
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

BIG = "x" * (3 * 1024 * 1024)  # 3 MiB: over SQS's 1 MiB


@pytest.fixture
def bucket(sqs_local: LocalSqs) -> str:
    name = f"payloads-{uuid.uuid4().hex[:10]}"
    aws.client("s3").create_bucket(Bucket=name)
    return name


def objects(bucket: str) -> list[str]:
    return [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def received(sqs_local: LocalSqs, url: str) -> list[dict[str, Any]]:
    messages = sqs_local.client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
    ).get("Messages", [])
    sqs_local.backend.change_visibility(url, [(m["ReceiptHandle"], 0) for m in messages])
    return messages


def test_a_large_job_travels_as_a_pointer_and_runs(sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str) -> None:
    router = Router(queue_url=sqs_queue.url, payload_buckets=[bucket])
    seen: list[int] = []

    @router.job()
    def ingest(text: str, n: int) -> None:
        seen.append(len(text) + n)

    producer = Producer(sqs_queue.url, router=router, payload_bucket=bucket)
    producer.send_many([("ingest", {"text": BIG, "n": 1}), ("ingest", {"text": "small", "n": 2})])
    bodies = sorted((m["Body"], m.get("MessageAttributes", {})) for m in received(sqs_local, sqs_queue.url))
    pointers = [(b, a) for b, a in bodies if b.startswith(f'["{POINTER_CLASS}"')]
    assert len(bodies) == 2 and len(pointers) == 1  # a batch mixes pointers and inline bodies
    body, attributes = pointers[0]
    location = json.loads(body)[1]
    assert location["s3BucketName"] == bucket and int(attributes[SIZE_ATTRIBUTE]["StringValue"]) > len(BIG)
    stored = aws.client("s3").head_object(Bucket=bucket, Key=location["s3Key"])
    assert stored["ServerSideEncryption"] == "AES256"
    judgement = sqs_local.deliver(router, sqs_queue, batch_size=10)
    assert judgement is not None and judgement.failed == [] and sorted(seen) == [7, len(BIG) + 1]
    assert objects(bucket) == []  # deleted once the job succeeded


def test_keep_payloads_keeps_the_object(sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str) -> None:
    router = Router(queue_url=sqs_queue.url, payload_buckets=[bucket], keep_payloads=True)

    @router.job()
    def ingest(text: str) -> None:
        pass

    Producer(sqs_queue.url, payload_bucket=bucket).send("ingest", text=BIG)
    sqs_local.deliver(router, sqs_queue)
    assert len(objects(bucket)) == 1


def test_the_threshold_can_be_lowered(sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str) -> None:
    Producer(sqs_queue.url, payload_bucket=bucket, payload_threshold=1000).send("ingest", text="y" * 2000)
    (message,) = received(sqs_local, sqs_queue.url)
    assert message["Body"].startswith(f'["{POINTER_CLASS}"')


def test_without_a_bucket_a_large_message_is_refused(sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SQS_LAMBDA_PAYLOAD_BUCKET", raising=False)
    with pytest.raises(MessageTooLargeError):
        Producer(sqs_queue.url).send("ingest", text=BIG)


def test_a_missing_object_is_retried_not_dead_lettered(
    sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str, caplog: pytest.LogCaptureFixture
) -> None:
    router = Router(queue_url=sqs_queue.url, payload_buckets=[bucket])

    @router.job()
    def ingest(text: str) -> None:
        pass

    Producer(sqs_queue.url, payload_bucket=bucket).send("ingest", text=BIG)
    for key in objects(bucket):
        aws.client("s3").delete_object(Bucket=bucket, Key=key)
    judgement = sqs_local.deliver(router, sqs_queue)
    assert judgement is not None and len(judgement.failed) == 1
    assert sqs_local.total(sqs_queue.dlq_url) == 0
    (line,) = [r for r in caplog.records if r.levelno >= logging.WARNING and "record failed" in r.getMessage()]
    assert "cannot read the payload at s3://" in line.__dict__["error_message"]
    assert "retried" in line.__dict__["error_message"]


def test_a_pointer_to_an_unknown_bucket_goes_to_the_dlq_naming_it(
    sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str
) -> None:
    router = Router(queue_url=sqs_queue.url)  # told about no bucket

    @router.job()
    def ingest(text: str) -> None:
        pass

    Producer(sqs_queue.url, payload_bucket=bucket).send("ingest", text=BIG)
    sqs_local.deliver(router, sqs_queue)
    (dead,) = received(sqs_local, sqs_queue.dlq_url)
    reason = failure.read_failure(dead["MessageAttributes"])
    assert f"s3://{bucket}, a bucket this router was not told about" in reason["error_message"]
    assert dead["Body"].startswith(f'["{POINTER_CLASS}"') and SIZE_ATTRIBUTE in dead["MessageAttributes"]


def test_a_dlq_copy_keeps_the_pointer_and_the_payload(sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str) -> None:
    router = Router(queue_url=sqs_queue.url, payload_buckets=[bucket])

    @router.job()
    def ingest(text: str) -> None:
        raise Reject("not today")

    Producer(sqs_queue.url, payload_bucket=bucket).send("ingest", text=BIG)
    sqs_local.deliver(router, sqs_queue)
    (dead,) = received(sqs_local, sqs_queue.dlq_url)
    key = json.loads(dead["Body"])[1]["s3Key"]
    assert objects(bucket) == [key]  # still readable: a redrive will run it


def test_signed_envelopes_sign_the_real_body(sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str) -> None:
    key = b"k" * 32
    router = Router(queue_url=sqs_queue.url, payload_buckets=[bucket], signing_key=key)
    seen: list[int] = []

    @router.job()
    def ingest(text: str) -> None:
        seen.append(len(text))

    Producer(sqs_queue.url, payload_bucket=bucket, signing_key=key).send("ingest", text=BIG)
    judgement = sqs_local.deliver(router, sqs_queue)
    assert judgement is not None and judgement.failed == [] and seen == [len(BIG)]


def test_s3_and_the_pointer_module_load_only_when_a_pointer_arrives() -> None:
    probe = textwrap.dedent(
        """
        import sys
        from sqs_lambda import Router
        router = Router()
        @router.job()
        def work(n: int) -> None: pass
        body = '{"sqs_lambda": 1, "id": "a", "job": "work", "kwargs": {"n": 1}}'
        record = {"messageId": "m", "receiptHandle": "r", "body": body, "attributes": {}, "messageAttributes": {},
                  "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:1:q"}
        assert router.lambda_handler({"Records": [record]}, None) == {"batchItemFailures": []}
        wanted = ("sqs_lambda.wire.payloads", "boto3")
        loaded = [m for m in sys.modules if m in wanted or m.startswith("botocore.client")]
        print(sorted(loaded))
        """
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# -- interop with AWS's own extended client (it patches boto3 on import: run it in a process of its own) --

EXTENDED = """
import json, sys
import boto3
import sqs_extended_client  # noqa: F401 - patches boto3's SQS client

sqs = boto3.client("sqs")
sqs.large_payload_support = sys.argv[2]
"""


def extended_client(script: str, *arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", EXTENDED + textwrap.dedent(script), *arguments],
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_extended_client_sends_a_3_mib_job_and_our_router_runs_it(
    sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str
) -> None:
    from sqs_lambda.wire import envelope as wire

    body, _ = wire.encode("ingest", {"text": BIG})
    extended_client(
        """
        body = open(sys.argv[3]).read()
        sqs.send_message(QueueUrl=sys.argv[1], MessageBody=body)
        """,
        sqs_queue.url,
        bucket,
        write_temp(body),
    )
    router = Router(queue_url=sqs_queue.url, payload_buckets=[bucket])
    seen: list[int] = []

    @router.job()
    def ingest(text: str) -> None:
        seen.append(len(text))

    judgement = sqs_local.deliver(router, sqs_queue)
    assert judgement is not None and judgement.failed == [] and seen == [len(BIG)]


def test_our_producer_sends_a_3_mib_job_and_the_extended_client_resolves_it(sqs_queue: QueuePair, bucket: str) -> None:
    Producer(sqs_queue.url, payload_bucket=bucket).send("ingest", text=BIG)
    printed = extended_client(
        """
        (message,) = sqs.receive_message(QueueUrl=sys.argv[1], MessageAttributeNames=["All"])["Messages"]
        body = json.loads(message["Body"])
        print(json.dumps({"job": body["job"], "size": len(body["kwargs"]["text"])}))
        """,
        sqs_queue.url,
        bucket,
    )
    assert json.loads(printed) == {"job": "ingest", "size": len(BIG)}


def write_temp(text: str) -> str:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as out:
        out.write(text)
    return out.name


def test_peek_shows_the_resolved_payload(sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str) -> None:
    from sqs_lambda_dev import ops

    Producer(sqs_queue.url, payload_bucket=bucket).send("ingest", text=BIG)
    (seen,) = ops.peek(sqs_local.backend, sqs_queue.url)
    assert seen["job"] == "ingest" and len(seen["kwargs"]["text"]) == len(BIG)
    payload = seen["payload"]
    assert payload["location"].startswith(f"s3://{bucket}/") and payload["size"] > len(BIG)
    assert payload["first_bytes"].startswith('{"sqs_lambda":1')


def test_a_long_delayed_large_job_hops_as_a_pointer_again(
    sqs_local: LocalSqs, sqs_queue: QueuePair, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from sqs_lambda.wire import envelope as wire
    from sqs_lambda.wire import payloads

    monkeypatch.setenv("SQS_LAMBDA_PAYLOAD_BUCKET", bucket)
    router = Router(queue_url=sqs_queue.url)

    @router.job()
    def ingest(text: str) -> None:
        raise AssertionError("not due yet")

    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    body, _ = wire.encode("ingest", {"text": BIG}, not_before=later)
    pointer = payloads.store(body.encode(), bucket)
    attributes = payloads.size_attribute(len(body.encode()))
    sqs_local.client.send_message(QueueUrl=sqs_queue.url, MessageBody=pointer.body(), MessageAttributes=attributes)
    judgement = sqs_local.deliver(router, sqs_queue)
    assert judgement is not None and judgement.failed == []  # acknowledged: its next hop was sent
    assert sqs_local.backend.counts(sqs_queue.url).delayed == 1
    assert len(objects(bucket)) == 2  # the next hop travels as a pointer of its own

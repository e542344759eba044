"""The example application's functions against the embedded endpoint (moto serves SQS, S3 and DynamoDB)."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda import aws
from sqs_lambda.consuming import failure
from sqs_lambda.wire import codec
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing import lambda_context, sqs_event
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

ROOT = Path(__file__).resolve().parents[2]


def load(function: str) -> Any:
    spec = importlib.util.spec_from_file_location(
        f"example_{function}_{uuid.uuid4().hex[:6]}", ROOT / "functions" / function / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app_env(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch, idempotency_table: str
) -> dict[str, str]:
    table, bucket = f"files-{uuid.uuid4().hex[:6]}", f"bucket-{uuid.uuid4().hex[:6]}"
    aws.client("dynamodb").create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "file_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "file_id", "AttributeType": "S"}],
    )
    aws.client("s3").create_bucket(Bucket=bucket)
    values = {
        "FILES_TABLE": table,
        "FILES_BUCKET": bucket,
        "JOBS_QUEUE_URL": sqs_queue.url,
        "SQS_LAMBDA_QUEUE_URL": sqs_queue.url,
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def status_of(table: str, file_id: str) -> dict[str, Any]:
    item = aws.client("dynamodb").get_item(TableName=table, Key={"file_id": {"S": file_id}})["Item"]
    return {k: next(iter(v.values())) for k, v in item.items()}


def test_api_records_the_file_and_enqueues_its_job(
    sqs_local: LocalSqs, sqs_queue: QueuePair, app_env: dict[str, str]
) -> None:
    api = load("api")
    event = {"body": json.dumps({"file_id": "f1", "s3_key": "uploads/f1.txt"}), "requestContext": {"requestId": "r-1"}}
    response = api.lambda_handler(event, lambda_context())
    assert response["statusCode"] == 202
    assert status_of(app_env["FILES_TABLE"], "f1")["status"] == "PENDING"
    (message,) = sqs_local.receive(sqs_queue.url, wait=1)
    envelope = wire.decode(message["Body"])
    assert isinstance(envelope, wire.Envelope) and envelope.job == "process_file"
    assert codec.loads(envelope.kwargs) == {"file_id": "f1"} and envelope.context == {"request_id": "r-1"}
    assert api.lambda_handler({"body": "{"}, lambda_context())["statusCode"] == 400
    assert api.lambda_handler({"body": json.dumps({"file_id": 3})}, lambda_context())["statusCode"] == 400


def test_worker_processes_text_and_rejects_binary(
    sqs_local: LocalSqs, sqs_queue: QueuePair, app_env: dict[str, str]
) -> None:
    worker = load("worker")
    s3, dynamodb = aws.client("s3"), aws.client("dynamodb")
    for name, data in {"a.txt": b"one\ntwo\nthree", "b.bin": b"\x00\x01"}.items():
        s3.put_object(Bucket=app_env["FILES_BUCKET"], Key=name, Body=data)
        dynamodb.put_item(
            TableName=app_env["FILES_TABLE"],
            Item={"file_id": {"S": name}, "s3_key": {"S": name}, "status": {"S": "PENDING"}},
        )
    for name in ("a.txt", "b.bin"):
        worker.process_file.delay(file_id=name)
    verdict = sqs_local.deliver(worker.router, sqs_queue)
    assert verdict is not None and verdict.failed == []
    done = status_of(app_env["FILES_TABLE"], "a.txt")
    assert (done["status"], done["lines_count"], done["file_size"]) == ("PROCESSED", "3", "13")
    assert status_of(app_env["FILES_TABLE"], "b.bin")["status"] == "FAILED"
    (dead,) = sqs_local.receive(sqs_queue.dlq_url, wait=1)
    assert "not a text file" in failure.read_failure(dead["MessageAttributes"])["error_message"]


def test_ordered_ledger_applies_in_sequence(sqs_local: LocalSqs, app_env: dict[str, str]) -> None:
    ordered = load("ordered")
    events = sqs_event(
        *[
            ("apply_order_event", {"tenant": "t", "sequence": n, "action": a})
            for n, a in ((1, "created"), (2, "paid"), (2, "paid"), (4, "shipped"))
        ],
        fifo=True,
        group_id="t",
    )
    response = ordered.router.lambda_handler(events, None)
    # 1 and 2 apply, the duplicate 2 is skipped, 4 arrives after 2: out of order, so it (and nothing after) fails
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [events["Records"][3]["messageId"]]
    ledger = status_of(app_env["FILES_TABLE"], "tenant#t")
    assert ledger["last_sequence"] == "2"

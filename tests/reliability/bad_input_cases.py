"""The cases of test_bad_inputs.py: a scene (a queue pair and a router on it) and one function per row of
the README's "Bad input" table that needs more than a body and its expected DLQ reason."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda import EncodeError, JobArgumentError, MessageTooLargeError, Producer, Reject, Router
from sqs_lambda.consuming import backoff, failure
from sqs_lambda.errors import ConfigurationError, SendError
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing import sqs_event
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

ROOT = Path(__file__).resolve().parents[2]


class Scene:
    """One queue pair, a router on it, and helpers to push a body through and read the DLQ."""

    def __init__(self, sqs_local: LocalSqs, queue: QueuePair) -> None:
        self.sqs, self.queue = sqs_local, queue
        self.router = Router(queue_url=queue.url)

        @self.router.job()
        def work(n: int) -> None: ...

    def consume(self, body: str, attributes: dict[str, Any] | None = None, router: Router | None = None) -> Any:
        self.sqs.client.send_message(QueueUrl=self.queue.url, MessageBody=body, MessageAttributes=attributes or {})
        return self.sqs.deliver(router or self.router, self.queue)

    def reason(self) -> dict[str, str]:
        (message,) = self.sqs.receive(self.queue.dlq_url, wait=1)
        return failure.read_failure(message["MessageAttributes"])

    def expect_dlq(self, body: str, error_type: str, text: str, **kwargs: Any) -> None:
        verdict = self.consume(body, **kwargs)
        assert verdict is not None and verdict.failed == []  # copied to the DLQ, then deleted
        reason = self.reason()
        assert reason["error_type"] == error_type, reason
        assert text in reason["error_message"], reason
        assert self.sqs.total(self.queue.url) == 0


def envelope(**fields: Any) -> str:
    return json.dumps({"sqs_lambda": 1, **fields})


def celery_body(content_type: str = "application/json", **headers: Any) -> str:
    inner = base64.b64encode(json.dumps([[], {}, {}]).encode()).decode()
    outer = {
        "body": inner,
        "content-type": content_type,
        "headers": {"task": "work", "id": "t1", **headers},
        "properties": {"body_encoding": "base64"},
    }
    return base64.b64encode(json.dumps(outer).encode()).decode()


def signed_router(scene: Scene) -> Router:
    router = Router(signing_key=["new-key", "old-key"])
    router.job("work")(lambda n: None)
    return router


def handler_raises(scene: Scene) -> None:
    router = Router(default_max_retries=1, default_backoff=backoff.immediate())
    router.job("work")(lambda n: (_ for _ in ()).throw(RuntimeError("boom")))
    first = scene.consume(envelope(job="work", kwargs={"n": 1}), router=router)
    assert first is not None and len(first.failed) == 1
    second = scene.sqs.deliver(router, scene.queue, wait=2)
    assert second is not None and second.failed == []
    reason = scene.reason()
    assert (reason["error_type"], reason["attempts"], reason["decision"]) == (
        "RuntimeError",
        "2",
        "gave up after 2 attempts",
    )


def no_dlq(scene: Scene) -> None:
    url = scene.sqs.client.create_queue(QueueName=scene.queue.name + "-alone")["QueueUrl"]
    lonely = QueuePair(url, scene.sqs.arn(url), "", "")
    router = Router()
    router.job("work")(lambda n: (_ for _ in ()).throw(Reject("never")))
    scene.sqs.client.send_message(QueueUrl=url, MessageBody=envelope(job="work", kwargs={"n": 1}))
    verdict = scene.sqs.deliver(router, lonely)
    assert verdict is not None and len(verdict.failed) == 1 and scene.sqs.total(url) == 1


def malformed_records(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    event = sqs_event(("work", {"n": 1}), ("work", {"n": "bad"}))
    del event["Records"][1]["messageId"]
    event["Records"].append("not a record")
    response = scene.router.lambda_handler(event, None)
    assert all(item["itemIdentifier"] for item in response["batchItemFailures"])
    assert any("no messageId" in record.getMessage() or "cannot" in str(record.__dict__) for record in caplog.records)


def unmatched_direct(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    assert scene.router.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, None) == {
        "batchItemFailures": []
    }
    assert any(record.getMessage() == "a direct invocation matched no raw route" for record in caplog.records)


def malformed_times(scene: Scene) -> None:
    for text in ("soon", "2026-13-45T25:61:00Z"):
        scene.expect_dlq(
            envelope(job="work", kwargs={"n": 1}, not_before=text),
            "DecodeError",
            f"malformed envelope: not_before '{text}' is not an ISO 8601 time",
        )
    scene.expect_dlq(
        celery_body(eta="next tuesday"),
        "DecodeError",
        "malformed envelope: eta 'next tuesday' is not an ISO 8601 time",
        router=accepting(scene, "celery"),
    )


def unknown_job_sent(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqs_lambda_dev.cli import operations as cli_operations

    monkeypatch.setattr(cli_operations, "router_for", lambda target, url: scene.router)  # as the local runtime finds it
    with pytest.raises(ConfigurationError) as refused:
        cli_operations.send("wrok", kwargs='{"n": 1}', queue=scene.queue.url, endpoint_url=scene.sqs.url)
    assert str(refused.value) == (
        "no job named 'wrok' is registered (known: work); did you mean 'work'? Pass --force to send it anyway"
    )
    assert scene.sqs.total(scene.queue.url) == 0  # nothing was sent
    cli_operations.send("wrok", kwargs='{"n": 1}', queue=scene.queue.url, endpoint_url=scene.sqs.url, force=True)
    assert scene.sqs.total(scene.queue.url) == 1


def producer_case(check: Callable[[Scene, Producer], None]) -> Callable[[Scene], None]:
    def run(scene: Scene) -> None:
        check(scene, scene.router.producer)
        assert scene.sqs.total(scene.queue.url) == 0  # nothing was sent

    return run


def unencodable(scene: Scene, producer: Producer) -> None:
    with pytest.raises(EncodeError, match="job 'anything', argument 'when'"):
        producer.send("anything", when=object())


def bad_arguments(scene: Scene, producer: Producer) -> None:
    with pytest.raises(JobArgumentError, match=r"job 'work'.*\$\.n") as caught:
        producer.send("work", n="x")
    assert isinstance(caught.value, TypeError)


def oversize(scene: Scene, producer: Producer) -> None:
    with pytest.raises(MessageTooLargeError, match=r"bytes; the queue accepts at most 1,048,576 bytes"):
        producer.send("anything", blob="x" * 1_100_000)


def bad_delay(scene: Scene, producer: Producer) -> None:
    with pytest.raises(ValueError, match=">= 0 seconds"):
        producer.send("work", n=1, delay=-5)
    with pytest.raises(ValueError, match="604800 seconds"):
        producer.send("work", n=1, delay=700_000)


def fifo_rules(scene: Scene, producer: Producer) -> None:
    pair = scene.sqs.create_queue_pair(scene.queue.name + "-f", fifo=True)
    fifo = Producer(pair.url)
    with pytest.raises(ConfigurationError, match="pass group_id"):
        fifo.send("work", n=1)
    with pytest.raises(ConfigurationError, match="no per-message delay"):
        fifo.send("work", n=1, group_id="g", delay=3)
    assert scene.sqs.total(pair.url) == 0


def send_error(scene: Scene) -> None:
    from sqs_lambda import aws

    def refuse(parsed: dict[str, Any], **_: Any) -> None:  # the first entry "fails" (it was not kept by SQS)
        refused = parsed.get("Successful", [])[:1]
        parsed["Successful"] = parsed.get("Successful", [])[1:]
        parsed.setdefault("Failed", []).extend(
            {"Id": e["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": "injected"}
            for e in refused
        )

    client = aws.client("sqs")
    client.meta.events.register("after-call.sqs.SendMessageBatch", refuse)
    try:
        with pytest.raises(SendError, match=r"1 message\(s\) were not sent:\n  [0-9a-f]{32}: InvalidMessageContents"):
            scene.router.producer.send_many([("work", {"n": n}) for n in range(3)])
    finally:
        client.meta.events.unregister("after-call.sqs.SendMessageBatch", refuse)


POINTER = '["software.amazon.payloadoffloading.PayloadS3Pointer",{"s3BucketName":"%s","s3Key":"%s"}]'


def missing_payload(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    from sqs_lambda import aws

    bucket = f"payloads-{scene.queue.name.lower()}"
    aws.client("s3").create_bucket(Bucket=bucket)
    router = Router(queue_url=scene.queue.url, payload_buckets=[bucket])
    router.job("work")(lambda n: None)
    verdict = scene.consume(POINTER % (bucket, "gone"), router=router)
    assert verdict is not None and len(verdict.failed) == 1  # retried: a later read may succeed
    assert scene.sqs.total(scene.queue.dlq_url) == 0
    messages = [str(r.__dict__.get("error_message")) for r in caplog.records]
    assert any(f"cannot read the payload at s3://{bucket}/gone" in m and "retried" in m for m in messages), messages


def idempotent_router(scene: Scene, runs: list[int]) -> Router:
    router = Router(queue_url=scene.queue.url)
    router.job("once", idempotent=True)(lambda n: runs.append(n))
    return router


def idempotent_without_table(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    import os

    assert "SQS_LAMBDA_IDEMPOTENCY_TABLE" not in os.environ
    runs: list[int] = []
    verdict = scene.consume(wire.encode("once", {"n": 1})[0], router=idempotent_router(scene, runs))
    assert verdict is not None and len(verdict.failed) == 1 and runs == []  # retried, never run unguarded
    messages = [str(r.__dict__.get("error_message")) for r in caplog.records]
    assert any("set SQS_LAMBDA_IDEMPOTENCY_TABLE" in m for m in messages), messages


def idempotent_duplicate(scene: Scene, caplog: pytest.LogCaptureFixture) -> None:
    import os

    table = scene.sqs.create_idempotency_table(f"keys-{scene.queue.name}")
    os.environ["SQS_LAMBDA_IDEMPOTENCY_TABLE"] = table
    try:
        runs: list[int] = []
        router = idempotent_router(scene, runs)
        body = wire.encode("once", {"n": 1})[0]
        for _ in range(2):
            verdict = scene.consume(body, router=router)
            assert verdict is not None and verdict.failed == []
    finally:
        del os.environ["SQS_LAMBDA_IDEMPOTENCY_TABLE"]
    assert runs == [1] and scene.sqs.total(scene.queue.url) == 0
    (skipped,) = [r for r in caplog.records if r.getMessage().startswith("duplicate skipped")]
    assert skipped.levelname == "INFO"


class Order:
    """A Django model by its shape (the router never imports Django): integer keys, row 7 only."""

    class DoesNotExist(Exception):
        pass

    class _meta:
        class pk:
            @staticmethod
            def to_python(value: Any) -> int:
                return int(value)  # Django's AutoField raises on "not an order" too

    class _default_manager:
        rows: dict[int, Any] = {}

        @classmethod
        def get(cls, pk: Any) -> Any:
            if int(pk) not in cls.rows:
                raise Order.DoesNotExist
            return cls.rows[int(pk)]


def order_router(scene: Scene) -> Router:
    router = Router(queue_url=scene.queue.url)

    @router.job()
    def ship(order: Order) -> None: ...

    return router


def model_not_a_key(scene: Scene) -> None:
    router = order_router(scene)
    with pytest.raises(JobArgumentError, match="'order' must be an instance of Order or its primary key"):
        router.producer.send("ship", order="not an order")
    assert scene.sqs.total(scene.queue.url) == 0
    verdict = scene.consume(wire.encode("ship", {"order": "not an order"})[0], router=router)
    assert verdict is not None and verdict.failed == [] and len(verdict.dead_lettered) == 1
    reason = scene.reason()
    assert reason["error_message"] == "job 'ship': 'not an order' is not a primary key of Order"
    assert reason["job"] == "ship"


def model_row_deleted(scene: Scene) -> None:
    verdict = scene.consume(wire.encode("ship", {"order": 7})[0], router=order_router(scene))
    assert verdict is not None and len(verdict.dead_lettered) == 1
    reason = scene.reason()
    assert reason["error_type"] == "Reject" and reason["job"] == "ship"
    assert reason["error_message"] == "job 'ship': Order with primary key 7 does not exist"


def cli_parameters(scene: Scene) -> None:
    from sqs_lambda_dev.cli import parse_parameters
    from sqs_lambda_dev.validate.template import parameter_values

    with pytest.raises(ConfigurationError, match=r"--parameter 'Stage': write it as Name=Value"):
        parse_parameters(["Stage"])
    template = {"Parameters": {"Stage": {"Type": "String", "Default": "dev"}}}
    with pytest.raises(ConfigurationError, match=r"--parameter Stag: the template declares no such parameter"):
        parameter_values(template, {"Stag": "x"})


def fifo_without_suffix(scene: Scene, tmp_path: Path) -> None:
    from sqs_lambda import aws
    from sqs_lambda_dev.local.resources import create
    from sqs_lambda_dev.validate.doctor import validate
    from sqs_lambda_dev.validate.template import load

    path = tmp_path / "template.yaml"
    path.write_text(json.dumps({"Resources": {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": "jobs", "FifoQueue": True}}}}))  # fmt: skip
    assert [(f.rule, f.resource, f.severity) for f in validate(path) if f.rule == "fifo-name"] == [
        ("fifo-name", "Jobs", "error")
    ]
    with pytest.raises(ConfigurationError, match=r"Jobs: QueueName 'jobs' is FIFO but does not end in \.fifo"):
        create(load(path), lambda service: aws.client(service, "us-east-1"))


def accepting(scene: Scene, fmt: str) -> Router:
    router = Router(accept=["sqs_lambda", fmt], aliases={"mytasks.work": "work"})  # type: ignore[list-item]
    router.job("work")(lambda n=0: None)
    return router


def rejecting() -> Router:
    router = Router()
    router.job("rejects")(lambda: (_ for _ in ()).throw(Reject("not today")))
    return router

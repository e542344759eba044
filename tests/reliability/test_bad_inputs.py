"""Every row of the README's "Bad input" table, exercised against the embedded SQS endpoint."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda import EncodeError, JobArgumentError, MessageTooLargeError, Producer, Reject, Router, backoff, failure
from sqs_lambda import envelope as wire
from sqs_lambda.errors import ConfigurationError, SendError
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
        router=_accepting(scene, "celery"),
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
    from sqs_lambda_dev.template import parameter_values

    with pytest.raises(ConfigurationError, match=r"--parameter 'Stage': write it as Name=Value"):
        parse_parameters(["Stage"])
    template = {"Parameters": {"Stage": {"Type": "String", "Default": "dev"}}}
    with pytest.raises(ConfigurationError, match=r"--parameter Stag: the template declares no such parameter"):
        parameter_values(template, {"Stag": "x"})


def fifo_without_suffix(scene: Scene, tmp_path: Path) -> None:
    from sqs_lambda import aws
    from sqs_lambda_dev.doctor import validate
    from sqs_lambda_dev.local.resources import create
    from sqs_lambda_dev.template import load

    path = tmp_path / "template.yaml"
    path.write_text(json.dumps({"Resources": {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {
        "QueueName": "jobs", "FifoQueue": True}}}}))  # fmt: skip
    assert [(f.rule, f.resource, f.severity) for f in validate(path) if f.rule == "fifo-name"] == [
        ("fifo-name", "Jobs", "error")
    ]
    with pytest.raises(ConfigurationError, match=r"Jobs: QueueName 'jobs' is FIFO but does not end in \.fifo"):
        create(load(path), lambda service: aws.client(service, "us-east-1"))


CASES: dict[str, Callable[..., None]] = {
    "body is not JSON (no text route)": lambda s: s.expect_dlq("hello", "NoRouteError", "the body is not JSON"),
    "JSON that is not an envelope, no raw route matches": lambda s: s.expect_dlq(
        '{"a": 1}', "NoRouteError", "JSON that is not an sqs-lambda envelope"
    ),
    "envelope without a job name": lambda s: s.expect_dlq(envelope(), "DecodeError", "has no job name"),
    "envelope version newer than this library": lambda s: s.expect_dlq(
        json.dumps({"sqs_lambda": 2, "job": "work"}), "UnsupportedVersionError", "envelope version 2 is newer"
    ),
    "envelope version that does not exist (0 or below)": lambda s: s.expect_dlq(
        json.dumps({"sqs_lambda": 0, "job": "work"}), "UnsupportedVersionError", "envelope version 0 does not exist"
    ),
    "malformed `not_before` (or Celery `eta`)": malformed_times,
    "envelope field of the wrong type": lambda s: s.expect_dlq(
        envelope(job="work", hops="many"), "DecodeError", "malformed envelope"
    ),
    "unknown job": lambda s: s.expect_dlq(envelope(job="nope"), "UnknownJobError", "no job named 'nope'"),
    "missing argument": lambda s: s.expect_dlq(envelope(job="work"), "JobArgumentError", "missing required field `n`"),
    "argument of the wrong type": lambda s: s.expect_dlq(
        envelope(job="work", kwargs={"n": "x"}), "JobArgumentError", "Expected `int`, got `str` - at `$.n`"
    ),
    "unexpected argument": lambda s: s.expect_dlq(
        envelope(job="work", kwargs={"n": 1, "m": 2}), "JobArgumentError", "unknown field `m`"
    ),
    "pickle body (any producer)": lambda s: s.expect_dlq(
        base64.b64encode(pickle.dumps({"n": 1})).decode(), "PickleRejectedError", "never unpickled"
    ),
    "sqs-workers pickle codec": lambda s: s.expect_dlq(
        "gASVAAAAAAAAAAB9lC4=",
        "PickleRejectedError",
        "ContentType 'pickle_compat'",
        attributes={
            "JobName": {"DataType": "String", "StringValue": "work"},
            "ContentType": {"DataType": "String", "StringValue": "pickle_compat"},
        },
        router=_accepting(s, "sqs_workers"),
    ),
    "Celery pickle content type": lambda s: s.expect_dlq(
        celery_body("application/x-python-serialize"),
        "PickleRejectedError",
        "application/x-python-serialize",
        router=_accepting(s, "celery"),
    ),
    "django-eb-sqs `pickle: true`": lambda s: s.expect_dlq(
        json.dumps({"func": "mytasks.work", "args": [], "kwargs": {}, "pickle": True}),
        "PickleRejectedError",
        "pickle: true",
        router=_accepting(s, "django_eb_sqs"),
    ),
    "expired Celery task": lambda s: s.expect_dlq(
        celery_body(expires="2020-01-01T00:00:00+00:00"),
        "Reject",
        "expired at 2020-01-01",
        router=_accepting(s, "celery"),
    ),
    "unsigned envelope (signing router)": lambda s: s.expect_dlq(
        envelope(job="work", kwargs={"n": 1}), "SignatureError", "not signed", router=signed_router(s)
    ),
    "forged or altered envelope": lambda s: s.expect_dlq(
        wire.encode("work", {"n": 1}, sign=lambda payload: "forged")[0],
        "SignatureError",
        "matches none of the keys",
        router=signed_router(s),
    ),
    "body is an S3 pointer whose object is missing, or cannot be read (access denied)": missing_payload,
    "body is an S3 pointer to a bucket the router was not told about": lambda s: s.expect_dlq(
        POINTER % ("elsewhere", "k"), "UnknownPayloadBucketError", "s3://elsewhere, a bucket this router was not told"
    ),
    "malformed S3 pointer": lambda s: s.expect_dlq(
        '["software.amazon.payloadoffloading.PayloadS3Pointer", 3]', "DecodeError", "malformed extended-client pointer"
    ),
    "idempotent job without `SQS_LAMBDA_IDEMPOTENCY_TABLE`": idempotent_without_table,
    "a duplicate of an idempotent job that already completed": idempotent_duplicate,
    "handler raises": handler_raises,
    "handler raises `Reject`": lambda s: s.expect_dlq(
        envelope(job="rejects"), "Reject", "not today", router=_rejecting()
    ),
    "no DLQ configured, or the DLQ copy fails": no_dlq,
    "record without messageId / not an object (malformed event)": malformed_records,
    "event without `Records` that no raw route matches": unmatched_direct,
    "`sqs-lambda send` of a job the queue's router does not know": unknown_job_sent,
    "producer: argument that cannot be encoded": producer_case(unencodable),
    "producer: arguments that do not fit the signature": producer_case(bad_arguments),
    "producer: message over the queue's size limit, and no payload bucket": producer_case(oversize),
    "producer: negative or too long delay": producer_case(bad_delay),
    "producer: FIFO without group id, or with a delay": producer_case(fifo_rules),
    "producer: entries SQS refuses (sender's fault), or still failing after retries": send_error,
    "Django: a model parameter given what is neither an instance nor a primary key of the model": model_not_a_key,
    "Django: a model argument whose row was deleted before the job ran": model_row_deleted,
    "CLI: `--parameter` without `=value`, or a name the template does not declare": cli_parameters,
    "template: a FIFO queue whose `QueueName` does not end in `.fifo`": fifo_without_suffix,
}


def _accepting(scene: Scene, fmt: str) -> Router:
    router = Router(accept=["sqs_lambda", fmt], aliases={"mytasks.work": "work"})  # type: ignore[list-item]
    router.job("work")(lambda n=0: None)
    return router


def _rejecting() -> Router:
    router = Router()
    router.job("rejects")(lambda: (_ for _ in ()).throw(Reject("not today")))
    return router


def readme_rows() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| bad input")]
    return [row.split(" | ")[0][2:].strip() for row in rows]


def test_every_readme_row_has_a_case() -> None:
    rows = readme_rows()
    assert len(rows) >= 15
    assert set(rows) == set(CASES)


@pytest.mark.parametrize("row", sorted(CASES))
def test_bad_input(
    row: str,
    sqs_local: LocalSqs,
    sqs_queue: QueuePair,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    caplog.set_level(logging.INFO)
    case = CASES[row]
    scene = Scene(sqs_local, sqs_queue)
    wanted = case.__code__.co_varnames[: case.__code__.co_argcount]
    if "caplog" in wanted:
        case(scene, caplog)
    elif "tmp_path" in wanted:
        case(scene, tmp_path)
    elif "monkeypatch" in wanted:
        case(scene, monkeypatch)
    else:
        case(scene)


def test_signed_envelopes_pass_and_keys_rotate(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqs_lambda import signing

    monkeypatch.setenv("JOB_SIGNING_KEYS", "new-key,old-key")
    router = Router(queue_url=sqs_queue.url, signing_key=signing.from_env("JOB_SIGNING_KEYS"))
    seen: list[int] = []
    router.job("work")(lambda n: seen.append(n))
    Producer(sqs_queue.url, signing_key="old-key").send("work", n=1)  # signed before the rotation
    Producer(sqs_queue.url, signing_key=["new-key", "old-key"]).send("work", n=2)
    for _ in range(3):
        sqs_local.deliver(router, sqs_queue)
    assert sorted(seen) == [1, 2] and sqs_local.total(sqs_queue.dlq_url) == 0
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", signing.sign(b"k", b"payload"))

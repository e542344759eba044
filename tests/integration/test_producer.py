"""The producer against the embedded moto server over HTTP."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sqs_lambda import MessageTooLargeError, Router, context
from sqs_lambda.errors import ConfigurationError, SendError
from sqs_lambda.producing.producer import Producer
from sqs_lambda.wire import codec
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


def make(sqs_queue: QueuePair) -> tuple[Router, Producer, list[dict[str, Any]]]:
    router = Router(queue_url=sqs_queue.url)
    seen: list[dict[str, Any]] = []

    @router.job()
    def process_file(file_id: str, force: bool = False, context: dict[str, Any] | None = None) -> None:
        seen.append({"file_id": file_id, "force": force, "context": context})

    return router, router.producer, seen


def drain(sqs_local: LocalSqs, router: Router, queue: QueuePair, expected: int) -> None:
    deadline = time.monotonic() + 20
    handled = 0
    while handled < expected and time.monotonic() < deadline:
        verdict = sqs_local.deliver(router, queue)
        handled += len(verdict.succeeded) if verdict else 0


def test_send_receive_and_route(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router, producer, seen = make(sqs_queue)
    message_id = producer.send("process_file", file_id="42")
    assert isinstance(message_id, str) and len(message_id) >= 32
    drain(sqs_local, router, sqs_queue, 1)
    assert seen == [{"file_id": "42", "force": False, "context": {}}]
    assert sqs_local.total(sqs_queue.url) == 0


def test_job_attribute_is_sent(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    _, producer, _ = make(sqs_queue)
    producer.send("process_file", file_id="1")
    message = sqs_local.receive(sqs_queue.url, wait=1)[0]
    assert message["MessageAttributes"]["job"]["StringValue"] == "process_file"


@pytest.mark.parametrize("count", [1, 10, 11, 25])
def test_batches_use_ten_per_request(sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any, count: int) -> None:
    router, producer, seen = make(sqs_queue)
    calls = hooks.record("SendMessageBatch")
    with producer.batch() as sent:
        for i in range(count):
            producer.send("process_file", file_id=str(i))
    assert [len(c["Entries"]) for c in calls] == [10] * (count // 10) + ([count % 10] if count % 10 else [])
    assert len(sent.message_ids) == count
    drain(sqs_local, router, sqs_queue, count)
    assert sorted(int(s["file_id"]) for s in seen) == list(range(count))


def test_long_batch_blocks_flush_each_message_once(
    sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqs_lambda.producing import producer as producer_module

    monkeypatch.setattr(producer_module, "FLUSH_AT", 25)  # several intermediate flushes
    _, producer, _ = make(sqs_queue)
    calls = hooks.record("SendMessageBatch")
    with producer.batch() as sent:
        for i in range(60):
            producer.send("process_file", file_id=str(i))
    assert sum(len(c["Entries"]) for c in calls) == 60
    assert len(sent.message_ids) == len(set(sent.message_ids)) == 60
    assert sqs_local.total(sqs_queue.url) == 60


def test_send_many_with_threads(sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any) -> None:
    _, producer, _ = make(sqs_queue)
    calls = hooks.record("SendMessageBatch")
    ids = producer.send_many([("process_file", {"file_id": str(i)}) for i in range(45)], concurrency=3)
    assert len(ids) == len(set(ids)) == 45
    assert len(calls) == 5
    assert sqs_local.total(sqs_queue.url) == 45


def test_bad_arguments_raise_type_error_and_send_nothing(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router, producer, _ = make(sqs_queue)
    with pytest.raises(TypeError, match="file_id"):
        producer.send("process_file", file_id=42)
    with pytest.raises(TypeError, match="missing required field `file_id`"):
        router.jobs["process_file"].delay()
    with pytest.raises(TypeError, match="unknown field `nope`"), producer.batch():
        producer.send("process_file", file_id="ok")
        producer.send("process_file", file_id="ok", nope=1)
    # the block flushed what was queued before the error, and nothing else
    assert sqs_local.total(sqs_queue.url) == 1


def test_oversize_names_size_and_limit(sqs_local: LocalSqs) -> None:
    small = sqs_local.create_queue_pair("small")
    sqs_local.client.set_queue_attributes(QueueUrl=small.url, Attributes={"MaximumMessageSize": "1024"})
    producer = Producer(small.url)
    with pytest.raises(MessageTooLargeError, match=r"message is [\d,]+ bytes; the queue accepts at most 1,024"):
        producer.send("anything", blob="x" * 2000)
    assert sqs_local.total(small.url) == 0


def test_retryable_entry_failures_are_retried_and_sender_faults_raise(
    sqs_local: LocalSqs, sqs_queue: QueuePair, hooks: Any
) -> None:
    _, producer, _ = make(sqs_queue)
    held: dict[str, list[str]] = {"ids": []}
    rounds = {"n": 0}

    def drop_some(params: dict[str, Any], **_: Any) -> None:
        rounds["n"] += 1
        if rounds["n"] == 1:  # the first request: entries 1 and 2 "fail" and are not sent
            held["ids"] = [e["Id"] for e in params["Entries"][1:3]]
            params["Entries"] = [e for e in params["Entries"] if e["Id"] not in held["ids"]]
        if rounds["n"] == 3:  # another batch: entry 0 is the sender's fault
            held["ids"] = [params["Entries"][0]["Id"]]
            params["Entries"] = params["Entries"][1:]

    def report(parsed: dict[str, Any], **_: Any) -> None:
        if held["ids"]:
            fault = rounds["n"] == 3
            parsed.setdefault("Failed", []).extend(
                {
                    "Id": i,
                    "SenderFault": fault,
                    "Code": "InvalidParameterValue" if fault else "InternalError",
                    "Message": "injected",
                }
                for i in held["ids"]
            )
            held["ids"] = []

    hooks.on("provide-client-params.sqs.SendMessageBatch", drop_some)
    hooks.on("after-call.sqs.SendMessageBatch", lambda parsed, **kw: report(parsed))
    ids = producer.send_many([("process_file", {"file_id": str(i)}) for i in range(5)], concurrency=1)
    assert len(ids) == 5 and rounds["n"] == 2  # one retry round for the two retryable failures
    with pytest.raises(SendError) as caught:
        producer.send_many([("process_file", {"file_id": str(i)}) for i in range(3)], concurrency=1)
    assert len(caught.value.failed) == 1 and caught.value.failed[0]["Code"] == "InvalidParameterValue"
    assert caught.value.failed[0]["Job"] == "process_file"
    # every message is accounted for: 5 + 2 sent, 1 raised back
    assert sqs_local.total(sqs_queue.url) == 7


def test_context_propagates_to_handlers(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    router, producer, seen = make(sqs_queue)
    with context(request_id="abc"):
        producer.send("process_file", file_id="1")
    drain(sqs_local, router, sqs_queue, 1)
    assert seen[0]["context"] == {"request_id": "abc"}


def test_delays(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    _, producer, _ = make(sqs_queue)
    producer.send("process_file", file_id="1", delay=30)
    assert sqs_local.counts(sqs_queue.url)["delayed"] == 1
    with pytest.raises(ValueError, match=">= 0"):
        producer.send("process_file", file_id="1", delay=-1)
    with pytest.raises(ValueError, match="at most 604800"):
        producer.send("process_file", file_id="1", delay=10**7)
    producer.send("process_file", file_id="2", delay=3600)
    message_body = None
    sqs_local.client.purge_queue(QueueUrl=sqs_queue.url)
    long = producer.build("process_file", {"file_id": "3"}, delay=3600)
    assert long.delay == 900
    decoded = wire.decode(long.body)
    assert isinstance(decoded, wire.Envelope) and decoded.not_before is not None
    assert message_body is None


def test_fifo_rules(sqs_local: LocalSqs) -> None:
    pair = sqs_local.create_queue_pair("orders", fifo=True)
    router = Router(queue_url=pair.url)
    order: list[int] = []
    router.job("step")(lambda n: order.append(n))
    producer = router.producer
    with pytest.raises(ConfigurationError, match="group_id"):
        producer.send("step", n=1)
    with pytest.raises(ConfigurationError, match="FIFO queues take no per-message delay"):
        producer.send("step", n=1, group_id="g", delay=5)
    message = producer.build("step", {"n": 1}, group_id="g")
    producer.send_messages([message])
    producer.send_messages([message])  # a retried send: same dedup id (the envelope id), not duplicated
    assert sqs_local.total(pair.url) == 1
    for n in range(2, 6):
        router.jobs["step"].apply_async({"n": n}, group_id="g")
    drain(sqs_local, router, pair, 5)
    assert order == [1, 2, 3, 4, 5]


def test_queue_name_with_stage_prefix(sqs_local: LocalSqs) -> None:
    pair = sqs_local.create_queue_pair("qa-reports")
    producer = Producer(queue_name="reports", stage="qa")
    producer.send_raw({"hello": "world"})
    assert producer.queue_url == pair.url
    body = sqs_local.receive(pair.url, wait=1)[0]["Body"]
    assert codec.loads(body) == {"hello": "world"}


def test_router_bound_by_environment(
    sqs_local: LocalSqs, sqs_queue: QueuePair, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SQS_LAMBDA_QUEUE_URL", sqs_queue.url)
    router = Router()
    job = router.job("ping")(lambda: None)
    job.bake().delay()
    job.delay()
    assert sqs_local.total(sqs_queue.url) == 2
    unbound = Router()
    monkeypatch.delenv("SQS_LAMBDA_QUEUE_URL")
    with pytest.raises(ConfigurationError, match="not bound to a queue"):
        unbound.job("x")(lambda: None).delay()

"""Producer faults: throttled requests and per-entry failures. Every message is either sent or raised
back to the caller; none is lost or sent twice."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sqs_lambda import aws
from sqs_lambda.errors import SendError
from sqs_lambda.producing.producer import Producer
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


class Chaos:
    """Throttles some SendMessageBatch calls outright and fails some entries of others."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.local = threading.local()  # a request's before and after hooks run in its own thread
        self.throttled = 0

    @property
    def dropped(self) -> list[tuple[str, bool]]:
        if not hasattr(self.local, "dropped"):
            self.local.dropped = []
        return self.local.dropped  # type: ignore[no-any-return]

    @dropped.setter
    def dropped(self, value: list[tuple[str, bool]]) -> None:
        self.local.dropped = value

    def before(self, params: dict[str, Any], **_: Any) -> None:
        if self.random.random() < 0.2:
            self.throttled += 1
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "SendMessageBatch"
            )
        kept = []
        for entry in params["Entries"]:
            roll = self.random.random()
            if roll < 0.15:
                self.dropped.append((entry["Id"], roll < 0.03))  # 3 %: the sender's fault, never retried
            else:
                kept.append(entry)
        params["Entries"] = kept or params["Entries"][:1]
        if not kept:
            self.dropped.pop()

    def after(self, parsed: dict[str, Any], **_: Any) -> None:
        parsed.setdefault("Failed", []).extend(
            {
                "Id": entry_id,
                "SenderFault": fault,
                "Code": "InvalidParameterValue" if fault else "InternalError",
                "Message": "injected",
            }
            for entry_id, fault in self.dropped
        )
        self.dropped = []


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_every_message_is_sent_or_raised(sqs_local: LocalSqs, sqs_queue: QueuePair, seed: int) -> None:
    chaos = Chaos(seed=seed)
    client = aws.client("sqs")
    client.meta.events.register("provide-client-params.sqs.SendMessageBatch", chaos.before)
    client.meta.events.register("after-call.sqs.SendMessageBatch", chaos.after)
    producer = Producer(sqs_queue.url)
    total = 300
    messages = [producer.build("job", {"n": n}) for n in range(total)]
    try:
        try:
            sent_ids = producer.send_messages(messages, concurrency=3)
            unsent: list[dict[str, Any]] = []
        except SendError as error:
            sent_ids, unsent = error.sent, error.failed  # type: ignore[attr-defined]
    finally:
        client.meta.events.unregister("provide-client-params.sqs.SendMessageBatch", chaos.before)
        client.meta.events.unregister("after-call.sqs.SendMessageBatch", chaos.after)
    assert chaos.throttled > 0 and unsent  # the faults really happened
    unsent_envelopes = {entry["Id"] for entry in unsent}
    assert all(entry["Code"] for entry in unsent)
    # count what reached the queue: exactly the sent ones, each once, and none of the unsent
    received: list[str] = []
    while True:
        batch = sqs_local.receive(sqs_queue.url, max_messages=10, wait=0, visibility_timeout=300)
        if not batch:
            break
        received += [wire.decode(m["Body"]).id for m in batch]  # type: ignore[union-attr]
    assert len(received) == len(set(received)) == len(sent_ids)
    assert not set(received) & unsent_envelopes
    assert len(received) + len(unsent_envelopes) == total


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_: Any) -> Any:
        yield self.data


def test_a_failing_request_is_retried_by_one_layer_only(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    from botocore.awsrequest import AWSResponse

    calls: list[str] = []

    def unavailable(request: Any, **_: Any) -> AWSResponse:
        calls.append(request.url)
        body = b'{"__type": "ServiceUnavailable", "message": "try later"}'
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "r"}
        return AWSResponse(request.url, 503, headers, _Body(body))

    client = aws.client("sqs")
    producer = Producer(sqs_queue.url)
    message = producer.build("job", {"n": 1})
    client.meta.events.register("before-send.sqs.SendMessageBatch", unavailable)
    try:
        with pytest.raises(SendError, match="1 message"):
            producer.send_messages([message])
    finally:
        client.meta.events.unregister("before-send.sqs.SendMessageBatch", unavailable)
    assert len(calls) == 4  # botocore's standard mode: 4 attempts; the producer adds none (not 16)
    assert sqs_local.total(sqs_queue.url) == 0

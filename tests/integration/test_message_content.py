"""SQS accepts only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF in a body or a string
attribute. The embedded engine refuses the rest as SQS does, the producer refuses it before sending, naming
the entry and the position, and never retries an entry SQS refused for its content."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sqs_lambda import Producer, Router
from sqs_lambda.aws.sqs import AwsSqs, ForwardingSqs
from sqs_lambda.errors import InvalidMessageContentError, SendError
from sqs_lambda.producing.sending import Outgoing
from sqs_lambda.wire.envelope import refused_character
from sqs_lambda_testing.sqs import LocalSqs

router = Router()


@router.job()
def note(text: str) -> None:
    """Takes any text."""


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        ("tab\tnewline\ncr\r", None),
        ("emoji \U0001f600 and \ud7ff \ue000 \ufffd", None),
        ("nul \x00", (4, "\x00")),
        ("bell \x07", (5, "\x07")),
        ("not a character \ufffe", (16, "\ufffe")),
        ("lone surrogate \ud800", (15, "\ud800")),
    ],
)
def test_the_rule_is_sqs_own(text: str, refused: tuple[int, str] | None) -> None:
    assert refused_character(text) == refused


def test_the_engine_refuses_such_an_entry_as_sqs_does(sqs_local: LocalSqs) -> None:
    url = sqs_local.client.create_queue(QueueName="content-engine")["QueueUrl"]
    response = sqs_local.client.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "good", "MessageBody": "fine"},
            {"Id": "nul", "MessageBody": "a\x00b"},
            {
                "Id": "attribute",
                "MessageBody": "fine",
                "MessageAttributes": {"k": {"DataType": "String", "StringValue": "x\x01"}},
            },
        ],
    )
    assert [entry["Id"] for entry in response["Successful"]] == ["good"]
    failed = {entry["Id"]: entry for entry in response["Failed"]}
    assert set(failed) == {"nul", "attribute"}
    assert all(entry["SenderFault"] is True and entry["Code"] == "InvalidMessageContents" for entry in failed.values())
    with pytest.raises(ClientError) as refused:
        sqs_local.client.send_message(QueueUrl=url, MessageBody="\x00")
    assert refused.value.response["Error"]["Code"] == "InvalidMessageContents"
    assert sqs_local.total(url) == 1


def test_the_producer_refuses_before_sending_and_names_the_entry(sqs_local: LocalSqs) -> None:
    url = sqs_local.client.create_queue(QueueName="content-producer")["QueueUrl"]
    producer = Producer(url, router=router)
    with pytest.raises(
        InvalidMessageContentError, match=r"\(\(raw\)\): its body holds '\\x00' \(U\+0000\) at position 5"
    ):
        producer.send_raw("hello\x00")
    with pytest.raises(InvalidMessageContentError, match=r"\(note\): its body holds '\\ufffe' \(U\+FFFE\)"):
        producer.send("note", text="odd \ufffe")  # JSON does not escape U+FFFE: the body holds it
    with pytest.raises(InvalidMessageContentError, match="attribute 'tag'"):
        producer.send_raw("ok", attributes={"tag": {"DataType": "String", "StringValue": "\x02"}})
    assert sqs_local.total(url) == 0
    producer.send("note", text="nul \x00 travels escaped")  # JSON writes it as \\u0000: SQS takes it
    assert sqs_local.total(url) == 1


class LocalStackLike(ForwardingSqs):
    """The real engine, answering a content refusal as LocalStack does: ``SenderFault`` false."""

    def __init__(self, backend: AwsSqs) -> None:
        super().__init__(backend)
        self.batches = 0

    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        self.batches += 1
        response = self.backend.send_batch(url, entries)
        for failure in response.get("Failed", []):
            failure["SenderFault"] = False
        return response


def test_an_entry_refused_for_its_content_is_never_retried(sqs_local: LocalSqs) -> None:
    url = sqs_local.client.create_queue(QueueName="content-retry")["QueueUrl"]
    port = LocalStackLike(AwsSqs(endpoint_url=sqs_local.url, region="us-east-1"))
    producer = Producer(url, backend=port)
    refused = Outgoing("a\x00b", {}, "envelope-1")  # past the producer's own check, as another client's
    with pytest.raises(SendError) as unsent:
        producer.send_messages([refused])
    assert port.batches == 1  # not retried, though SenderFault was false
    assert "InvalidMessageContents" in str(unsent.value)

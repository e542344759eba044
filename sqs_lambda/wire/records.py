"""Reading Lambda's SQS records (the event shape, not the body: bodies belong to :mod:`envelope`).

Plain functions over the record dict, written to never raise: a malformed event (a record that is not
an object, a missing ``messageId``, attributes of the wrong type) must still get a response, and
Powertools' ``SQSRecord`` accessors assume a well-formed record (they raise ``KeyError``). They are also
on the per-record hot path, where a wrapper object per record costs more than the lookups themselves.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import Any

Record = dict[str, Any]


def message_id(record: Any) -> str | None:
    """The record's messageId, or None when a malformed event has none (it cannot be reported)."""
    if isinstance(record, dict):
        value = record.get("messageId")
        if isinstance(value, str) and value:
            return value
    return None


def attribute(record: Any, name: str) -> str | None:
    if not isinstance(record, dict):
        return None
    attributes = record.get("attributes")
    return attributes.get(name) if isinstance(attributes, dict) else None


def receive_count(record: Any) -> int:
    """ApproximateReceiveCount as an int (1 when absent or unreadable)."""
    try:
        return max(1, int(attribute(record, "ApproximateReceiveCount") or 1))
    except (TypeError, ValueError):
        return 1


def group_id(record: Any) -> str | None:
    return attribute(record, "MessageGroupId")


def source_arn(record: Record) -> str:
    value = record.get("eventSourceARN")
    return value if isinstance(value, str) else ""


def is_fifo_arn(arn: str) -> bool:
    return arn.endswith(".fifo")


def send_attributes(record: Record) -> dict[str, dict[str, Any]]:
    """The record's message attributes in SendMessage shape (for DLQ copies and re-sends)."""
    result: dict[str, dict[str, Any]] = {}
    attributes = record.get("messageAttributes")
    if not isinstance(attributes, dict):
        return result
    for name, value in attributes.items():
        if not isinstance(value, dict):
            continue
        data_type = value.get("dataType") or "String"
        if value.get("stringValue") is not None:
            result[name] = {"DataType": data_type, "StringValue": value["stringValue"]}
        elif value.get("binaryValue") is not None:
            binary = value["binaryValue"]
            result[name] = {
                "DataType": data_type,
                "BinaryValue": base64.b64decode(binary) if isinstance(binary, str) else binary,
            }
    return result


def string_attribute(record: Mapping[str, Any], name: str) -> str | None:
    attributes = record.get("messageAttributes")
    if isinstance(attributes, dict) and isinstance(attributes.get(name), dict):
        value = attributes[name].get("stringValue")
        return value if isinstance(value, str) else None
    return None


# -- building records: a ReceiveMessage message in Lambda's shape (worker mode, the local trigger) ------

LAMBDA_SYSTEM_ATTRIBUTES = (
    "ApproximateReceiveCount",
    "SentTimestamp",
    "SenderId",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageGroupId",
    "MessageDeduplicationId",
    "AWSTraceHeader",
)


def body_md5(body: str) -> str:
    """MD5 of a body as SQS computes it (any str: a builder is also fed text SQS would refuse)."""
    return hashlib.md5(body.encode("utf-8", "surrogatepass")).hexdigest()


def lambda_attributes(send_shape: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """SendMessage/ReceiveMessage-shaped message attributes in the shape Lambda puts in events."""
    result: dict[str, dict[str, Any]] = {}
    for name, value in send_shape.items():
        binary = value.get("BinaryValue")
        result[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
    return result


def from_message(message: dict[str, Any], *, arn: str) -> Record:
    """A ReceiveMessage message (with all attributes) as the record Lambda's SQS trigger would deliver."""
    body = message.get("Body", "")
    region = arn.split(":")[3] if arn.count(":") >= 5 else "us-east-1"
    system = {k: str(v) for k, v in (message.get("Attributes") or {}).items()}
    record: Record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": body,
        "attributes": {k: system[k] for k in LAMBDA_SYSTEM_ATTRIBUTES if k in system},
        "messageAttributes": lambda_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message.get("MD5OfBody") or body_md5(body),
        "eventSource": "aws:sqs",
        "eventSourceARN": arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record

"""Small SAM templates for tests of the local runtime: a queue with its DLQ, a function on it.

resources = {**queue_with_dlq("Jobs", queue_name="t1-jobs"), "Fn": sqs_function("app.handler", "Jobs")}
Path("template.yaml").write_text(json.dumps(sam_template(resources)))   # JSON is YAML
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def sam_template(resources: Mapping[str, Any], *, stage: str | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": dict(resources),
    }
    if stage is not None:
        template["Parameters"] = {"Stage": {"Type": "String", "Default": stage}}
    return template


def queue_with_dlq(
    logical_id: str,
    *,
    queue_name: Any,
    visibility: int = 30,
    max_receive_count: int = 5,
    fifo: bool = False,
    dlq_name: Any = None,
) -> dict[str, Any]:
    """``{logical_id: queue, logical_id + "DLQ": its DLQ}``; names may be strings or intrinsics."""
    common = {"FifoQueue": True} if fifo else {}
    return {
        f"{logical_id}DLQ": {
            "Type": "AWS::SQS::Queue",
            "Properties": {**common, "QueueName": dlq_name or _dlq_name(queue_name, fifo)},
        },
        logical_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                **common,
                "QueueName": queue_name,
                "VisibilityTimeout": visibility,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [f"{logical_id}DLQ", "Arn"]},
                    "maxReceiveCount": max_receive_count,
                },
            },
        },
    }


def _dlq_name(queue_name: Any, fifo: bool) -> Any:
    suffix = ".fifo" if fifo else ""
    if isinstance(queue_name, str):
        return queue_name.removesuffix(".fifo") + "-dlq" + suffix
    if isinstance(queue_name, dict) and "Fn::Sub" in queue_name:
        return {"Fn::Sub": str(queue_name["Fn::Sub"]).removesuffix(".fifo") + "-dlq" + suffix}
    raise ValueError("pass dlq_name for this queue name")


def sqs_function(
    handler: str,
    queue: str,
    *,
    code_uri: str = "src/",
    timeout: int = 10,
    environment: Mapping[str, Any] | None = None,
    **event: Any,
) -> dict[str, Any]:
    """A function triggered by ``queue`` with partial batch responses; ``event`` adds SQS event properties."""
    return {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": code_uri,
            "Handler": handler,
            "Runtime": "python3.11",
            "Timeout": timeout,
            "Environment": {"Variables": dict(environment or {})},
            "Events": {
                "Q": {
                    "Type": "SQS",
                    "Properties": {
                        "Queue": {"Fn::GetAtt": [queue, "Arn"]},
                        "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        **event,
                    },
                }
            },
        },
    }


def id_keyed_table(**properties: Any) -> dict[str, Any]:
    """A retained, on-demand DynamoDB table keyed by the String ``id`` (idempotency keys, task results);
    ``properties`` adds or overrides its properties (TTL, point-in-time recovery...)."""
    return {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            **properties,
        },
    }

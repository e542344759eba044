"""``sqs-lambda validate``: the shipped template passes; each rule catches its own small fixture."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda_dev.doctor import validate

ROOT = Path(__file__).resolve().parents[2]

BASE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": "AWS::Serverless-2016-10-31",
    "Parameters": {"MaxReceiveCount": {"Type": "Number", "Default": 5}},
    "Resources": {
        "DLQ": {"Type": "AWS::SQS::Queue", "Properties": {"MessageRetentionPeriod": 1209600}},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "VisibilityTimeout": 60,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": ["DLQ", "Arn"]},
                    "maxReceiveCount": {"Ref": "MaxReceiveCount"},
                },
            },
        },
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "src/",
                "Handler": "app.lambda_handler",
                "Runtime": "python3.12",
                "Timeout": 10,
                "Events": {
                    "Jobs": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
                            "BatchSize": 10,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                        },
                    }
                },
            },
        },
    },
}


def write(tmp_path: Path, template: dict[str, Any]) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(json.dumps(template))  # JSON is YAML
    return path


def rules(tmp_path: Path, template: dict[str, Any]) -> dict[str, str]:
    return {f.rule: f"{f.severity} {f.resource}: {f.message} Fix: {f.fix}" for f in validate(write(tmp_path, template))}


def mutate(change: Any) -> dict[str, Any]:
    template = copy.deepcopy(BASE)
    change(template["Resources"], template)
    return template


def event(resources: dict[str, Any]) -> dict[str, Any]:
    return dict(resources["Fn"]["Properties"]["Events"]["Jobs"]["Properties"])


def test_shipped_template_passes() -> None:
    assert [str(f) for f in validate(ROOT / "template.yaml")] == []


def test_base_fixture_passes(tmp_path: Path) -> None:
    assert rules(tmp_path, BASE) == {}


def set_event(resources: dict[str, Any], **changes: Any) -> None:
    properties = resources["Fn"]["Properties"]["Events"]["Jobs"]["Properties"]
    for key, value in changes.items():
        if value is None:
            properties.pop(key, None)
        else:
            properties[key] = value


def make_fifo(resources: dict[str, Any], dlq_fifo: bool = True) -> None:
    resources["Queue"]["Properties"]["FifoQueue"] = True
    if dlq_fifo:
        resources["DLQ"]["Properties"]["FifoQueue"] = True


CASES = {
    "no redrive policy": (lambda r, t: r["Queue"]["Properties"].pop("RedrivePolicy"), "dlq", "error Queue"),
    "DLQ of another type": (lambda r, t: make_fifo(r, dlq_fifo=False), "dlq-type", "is standard but the queue is FIFO"),
    "maxReceiveCount below 5": (
        lambda r, t: t["Parameters"]["MaxReceiveCount"].update(Default=3),
        "max-receive",
        "warning Queue: maxReceiveCount is 3",
    ),
    "maxReceiveCount 0": (
        lambda r, t: t["Parameters"]["MaxReceiveCount"].update(Default=0),
        "max-receive",
        "error Queue: maxReceiveCount is 0",
    ),
    "visibility too short": (
        lambda r, t: r["Queue"]["Properties"].update(VisibilityTimeout=30),
        "visibility",
        "6 x function timeout (10s) + batching window (0s) = 60s",
    ),
    "no partial batch response": (
        lambda r, t: set_event(r, FunctionResponseTypes=None),
        "partial-batch",
        "ReportBatchItemFailures is off",
    ),
    "big batch without window": (
        lambda r, t: set_event(r, BatchSize=100),
        "batch-window",
        "BatchSize 100 needs MaximumBatchingWindowInSeconds",
    ),
    "FIFO batch over 10": (
        lambda r, t: (make_fifo(r), set_event(r, BatchSize=20)),
        "batch-size",
        "BatchSize 20 on a FIFO queue",
    ),
    "short DLQ retention": (
        lambda r, t: r["DLQ"]["Properties"].update(MessageRetentionPeriod=60),
        "dlq-retention",
        "DLQ retention 60s is shorter than its source's (345600s)",
    ),
    "unencrypted queue": (
        lambda r, t: r["Queue"]["Properties"].update(SqsManagedSseEnabled=False),
        "encryption",
        "the queue is not encrypted",
    ),
    "concurrency out of range": (
        lambda r, t: set_event(r, ScalingConfig={"MaximumConcurrency": 1}),
        "concurrency",
        "MaximumConcurrency is 1",
    ),
    "EventBridge policy without SourceArn": (
        lambda r, t: r.update(
            Policy={
                "Type": "AWS::SQS::QueuePolicy",
                "Properties": {
                    "Queues": [{"Ref": "Queue"}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage",
                                "Resource": {"Fn::GetAtt": ["Queue", "Arn"]},
                            }
                        ],
                    },
                },
            }
        ),
        "eventbridge-policy",
        "from any rule",
    ),
    "EventBridge target on alias/aws/sqs": (
        lambda r, t: (
            r["Queue"]["Properties"].update(KmsMasterKeyId="alias/aws/sqs"),
            r.update(
                Rule={
                    "Type": "AWS::Events::Rule",
                    "Properties": {
                        "ScheduleExpression": "rate(5 minutes)",
                        "Targets": [{"Id": "q", "Arn": {"Fn::GetAtt": ["Queue", "Arn"]}}],
                    },
                }
            ),
        ),
        "encryption",
        "EventBridge cannot deliver",
    ),
    "wildcard policy": (
        lambda r, t: r["Fn"]["Properties"].update(
            Policies=[{"Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}]
        ),
        "least-privilege",
        "warning FnRole",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_catches_its_fixture(tmp_path: Path, case: str) -> None:
    change, rule, expected = CASES[case]
    found = rules(tmp_path, mutate(change))
    assert rule in found, found
    assert expected in found[rule]


def test_cfn_lint_runs_on_the_translated_output(tmp_path: Path) -> None:
    broken = mutate(lambda r, t: r["Queue"]["Properties"].update(DelaySeconds=5000))
    found = rules(tmp_path, broken)
    assert any(rule.startswith("cfn-lint E") for rule in found), found

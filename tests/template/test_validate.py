"""``sqs-lambda validate``: the shipped template passes; each rule catches its own small fixture."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda_dev.validate.doctor import validate

ROOT = Path(__file__).resolve().parents[2]

BASE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": "AWS::Serverless-2016-10-31",
    "Parameters": {"MaxReceiveCount": {"Type": "Number", "Default": 5}},
    "Resources": {
        "DLQ": {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {"MessageRetentionPeriod": 1209600},
        },
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": {
                "VisibilityTimeout": 60,
                "MessageRetentionPeriod": 345600,
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
                "Runtime": "python3.13",
                "Architectures": ["arm64"],
                "Timeout": 10,
                "LoggingConfig": {"LogGroup": {"Ref": "Logs"}},
                "Events": {
                    "Jobs": {
                        "Type": "SQS",
                        "Properties": {
                            "Queue": {"Fn::GetAtt": ["Queue", "Arn"]},
                            "BatchSize": 10,
                            "FunctionResponseTypes": ["ReportBatchItemFailures"],
                            "MetricsConfig": {"Metrics": ["EventCount"]},
                        },
                    }
                },
            },
        },
    },
}


BASE["Resources"]["Logs"] = {
    "Type": "AWS::Logs::LogGroup",
    "DeletionPolicy": "Delete",
    "UpdateReplacePolicy": "Delete",
    "Properties": {"RetentionInDays": 30},
}
LAYER = {
    "Type": "AWS::Serverless::LayerVersion",
    "Properties": {"ContentUri": "layer/", "CompatibleRuntimes": ["python3.13"], "CompatibleArchitectures": ["arm64"]},
    "Metadata": {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"},
}


def with_layer(resources: dict[str, Any], **layer_changes: Any) -> None:
    layer = copy.deepcopy(LAYER)
    layer["Properties"].update(layer_changes.pop("properties", {}))
    layer["Metadata"].update(layer_changes.pop("metadata", {}))
    resources["Layer"] = layer
    resources["Fn"]["Properties"]["Layers"] = [{"Ref": "Layer"}]
    resources["Fn"]["Properties"].update(layer_changes)


def http_route(resources: dict[str, Any], auth: dict[str, Any] | None) -> None:
    resources["Api"] = {"Type": "AWS::Serverless::HttpApi", "Properties": {"Auth": auth} if auth else {}}
    resources["Fn"]["Properties"]["Events"]["Http"] = {
        "Type": "HttpApi",
        "Properties": {"ApiId": {"Ref": "Api"}, "Path": "/files", "Method": "POST"},
    }


def write(tmp_path: Path, template: dict[str, Any]) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(json.dumps(template))  # JSON is YAML
    return path


def rules(tmp_path: Path, template: dict[str, Any]) -> dict[str, str]:
    found: dict[str, str] = {}
    for f in validate(write(tmp_path, template)):
        found[f.rule] = " | ".join(
            filter(None, [found.get(f.rule), f"{f.severity} {f.resource}: {f.message} Fix: {f.fix}"])
        )
    return found


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
    "layer for another runtime": (
        lambda r, t: with_layer(r, Runtime="python3.12"),
        "layer-compat",
        "runs python3.12, but its layer",
    ),
    "layer for another architecture": (
        lambda r, t: with_layer(r, Architectures=["x86_64"]),
        "layer-compat",
        "runs on x86_64, but its layer",
    ),
    "layer built for another architecture than it declares": (
        lambda r, t: with_layer(r, metadata={"BuildArchitecture": "x86_64"}),
        "layer-compat",
        "built for x86_64, declared for ['arm64']",
    ),
    "runtime deprecated within 12 months": (
        lambda r, t: r["Fn"]["Properties"].update(Runtime="python3.10"),
        "runtime-lifecycle",
        "python3.10 was deprecated on 2026-10-31",
    ),
    "queue without Retain": (
        lambda r, t: (r["Queue"].pop("DeletionPolicy"), r["Queue"].pop("UpdateReplacePolicy")),
        "retain",
        "warning Queue: no DeletionPolicy / UpdateReplacePolicy: Retain",
    ),
    "table without Retain": (
        lambda r, t: r.update(
            Table={
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                },
            }
        ),
        "retain",
        "drops its items",
    ),
    "log group without retention": (
        lambda r, t: r["Logs"]["Properties"].pop("RetentionInDays"),
        "log-retention",
        "keeps logs forever",
    ),
    "no log group at all": (
        lambda r, t: r["Fn"]["Properties"].pop("LoggingConfig"),
        "log-retention",
        "warning Fn: its log group keeps logs forever",
    ),
    "public HTTP route": (lambda r, t: http_route(r, None), "public-route", "POST /files has no authorizer"),
    "FIFO queue whose name lacks .fifo": (
        lambda r, t: (
            make_fifo(r),
            r["Queue"]["Properties"].update(QueueName="jobs"),
            r["DLQ"]["Properties"].update(QueueName="jobs-dlq.fifo"),
        ),
        "fifo-name",
        "error Queue: QueueName 'jobs' does not end in .fifo",
    ),
    "standard queue named .fifo": (
        lambda r, t: r["DLQ"]["Properties"].update(QueueName="dlq.fifo"),
        "fifo-name",
        "error DLQ: QueueName 'dlq.fifo' ends in .fifo but FifoQueue is not true",
    ),
    "a 1 s timeout leaves no room for a record": (
        lambda r, t: r["Fn"]["Properties"].update(Timeout=1),
        "timeout-room",
        "warning Fn: Timeout 1s leaves 750 ms for records after the time cut-off's 250 ms margin",
    ),
    "provisioned pollers below SQS's minimum": (
        lambda r, t: set_event(r, ProvisionedPollerConfig={"MinimumPollers": 1, "MaximumPollers": 5}),
        "provisioned-pollers",
        "MinimumPollers is 1",
    ),
    "provisioned pollers beside MaximumConcurrency": (
        lambda r, t: set_event(
            r,
            ProvisionedPollerConfig={"MinimumPollers": 2, "MaximumPollers": 5},
            ScalingConfig={"MaximumConcurrency": 5},
        ),
        "provisioned-pollers",
        "ProvisionedPollerConfig and ScalingConfig.MaximumConcurrency are both set",
    ),
    "provisioned maximum below minimum": (
        lambda r, t: set_event(r, ProvisionedPollerConfig={"MinimumPollers": 20, "MaximumPollers": 10}),
        "provisioned-pollers",
        "MaximumPollers 10 is below MinimumPollers 20",
    ),
    "no trigger metrics": (
        lambda r, t: set_event(r, MetricsConfig=None),
        "esm-metrics",
        "info",
    ),
    "a small queue and no payload bucket": (
        lambda r, t: r["Queue"]["Properties"].update(MaximumMessageSize=262144),
        "payload-size",
        "warning Queue: MaximumMessageSize is 262,144 bytes (SQS allows 1 MiB) and no function has a payload bucket",
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


def test_a_runtime_deprecated_within_a_year_is_flagged_by_date() -> None:
    import datetime as dt

    from sqs_lambda_dev.validate.doctor import Finding
    from sqs_lambda_dev.validate.readiness import Readiness
    from sqs_lambda_dev.validate.template import load

    template = load(ROOT / "template.yaml")
    fn = next(iter(template.of_type("AWS::Lambda::Function")))
    template.cfn["Resources"][fn]["Properties"]["Runtime"] = "python3.11"  # deprecated 2027-06-30
    flagged = Readiness(template, Finding, today=dt.date(2026, 12, 2)).check_runtimes()
    assert [(f.rule, f.resource) for f in flagged] == [("runtime-lifecycle", fn)]
    assert "is deprecated on 2027-06-30" in flagged[0].message and "python3.13" in flagged[0].fix
    assert Readiness(template, Finding, today=dt.date(2026, 6, 1)).check_runtimes() == []  # 13 months ahead


def test_routes_with_an_authorizer_pass(tmp_path: Path) -> None:
    iam = mutate(lambda r, t: http_route(r, {"EnableIamAuthorizer": True, "DefaultAuthorizer": "AWS_IAM"}))
    assert "public-route" not in rules(tmp_path, iam)


def test_a_matching_layer_passes(tmp_path: Path) -> None:
    assert rules(tmp_path, mutate(lambda r, t: with_layer(r))) == {}


def test_cfn_lint_informational_findings_are_shown_as_info(tmp_path: Path) -> None:
    found = validate(write(tmp_path, mutate(lambda r, t: r["Logs"].pop("DeletionPolicy"))))
    assert [(f.severity, f.rule, f.resource) for f in found] == [("info", "cfn-lint I3011", "Logs")]


def test_cfn_lint_runs_on_the_translated_output(tmp_path: Path) -> None:
    broken = mutate(lambda r, t: r["Queue"]["Properties"].update(DelaySeconds=5000))
    found = rules(tmp_path, broken)
    assert any(rule.startswith("cfn-lint E") for rule in found), found

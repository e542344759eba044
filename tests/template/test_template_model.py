"""The template model resolves intrinsics offline (aws-sam-translator's resolver, plus what our tools need)."""

from __future__ import annotations

import json
from pathlib import Path

from sqs_lambda_dev.validate.template import load


def test_intrinsics_resolve_offline(tmp_path: Path) -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Mappings": {"Sizes": {"dev": {"batch": "5"}}},
        "Conditions": {"IsDev": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}},
        "Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${Stage}-jobs"}}},
        },
    }
    path = tmp_path / "template.json"
    path.write_text(json.dumps(template))
    model = load(path)
    local = {"Jobs": "http://127.0.0.1:5000/123456789012/dev-jobs"}
    assert model.resolve({"Ref": "Jobs"}, local) == local["Jobs"]
    assert model.resolve({"Ref": "Jobs"}) == "dev-jobs"
    assert model.resolve({"Fn::GetAtt": ["Jobs", "Arn"]}) == "arn:aws:sqs:us-east-1:123456789012:dev-jobs"
    assert model.resolve({"Fn::Sub": "${Jobs.Arn}/x"}) == "arn:aws:sqs:us-east-1:123456789012:dev-jobs/x"
    assert model.resolve({"Fn::Sub": ["${Q}-${AWS::Region}", {"Q": {"Ref": "Jobs"}}]}) == "dev-jobs-us-east-1"
    assert model.resolve({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "batch"]}) == "5"
    assert model.resolve({"Fn::If": ["IsDev", "yes", "no"]}) == "yes"
    assert model.resolve({"Fn::Join": ["-", [{"Ref": "Stage"}, "a"]]}) == "dev-a"
    assert model.resolve({"Fn::Select": [1, {"Fn::Split": [",", "a,b"]}]}) == "b"
    assert model.resolve({"Fn::Sub": "${Missing}"}) is None
    assert model.resolve({"Fn::ImportValue": "x"}) is None
    assert model.resolve({"Ref": "AWS::NoValue"}) is None

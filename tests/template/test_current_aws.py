"""The template with every option AWS added lately turned on (provisioned pollers, SnapStart, the trigger's
metrics) validates clean; SnapStart's import-time rules find what a snapshot would share; a trigger that
invokes an alias (AutoPublishAlias) is read as its function's."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from sqs_lambda_dev.validate.doctor import validate
from sqs_lambda_dev.validate.template import load
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING_ON = {"SnapStart": "PublishedVersions", "MinimumPollers": "2", "MaximumPollers": "20"}


def test_the_example_validates_clean_with_every_new_option_on() -> None:
    for parameters in ({}, EVERYTHING_ON):
        found = [f for f in validate(ROOT / "template.yaml", parameters=parameters) if f.severity != "info"]
        assert found == [], found
    template = load(ROOT / "template.yaml", parameters=EVERYTHING_ON)
    ((_, properties, queue, function),) = [m for m in template.event_source_mappings() if m[0].startswith("Worker")]
    assert (queue, function) == ("JobsQueue", "WorkerFunction")  # through the 'live' alias
    assert template.resolve(properties["ProvisionedPollerConfig"]) == {"MinimumPollers": "2", "MaximumPollers": "20"}
    assert template.resolve(properties.get("ScalingConfig")) is None  # AWS takes one or the other
    assert template.resolve(properties["MetricsConfig"]) == {"Metrics": ["EventCount"]}


APP = """
import random
import uuid

import boto3

from sqs_lambda import Router

REQUEST_PREFIX = uuid.uuid4().hex  # shared by every restored environment
sqs = boto3.client("sqs")  # a connection made before the snapshot
router = Router()


def fresh() -> str:
    return uuid.uuid4().hex + str(random.random())  # at call time: fine


lambda_handler = router.lambda_handler
"""


def test_snapstart_rules_find_what_a_snapshot_would_share(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(APP))
    function = sqs_function("app.lambda_handler", "Jobs", MetricsConfig={"Metrics": ["EventCount"]})
    function["Properties"].update(AutoPublishAlias="live", SnapStart={"ApplyOn": "PublishedVersions"})
    template = sam_template({**queue_with_dlq("Jobs", queue_name="snap-jobs"), "Fn": function})
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    found = {(f.rule, f.message.split(" at import")[0]) for f in validate(tmp_path / "template.yaml")}
    assert ("snapstart-unique", "app.py:9 calls uuid.uuid4") in found
    assert ("snapstart-connection", "app.py:10 calls boto3.client") in found
    assert not any("random.random" in message for _, message in found)  # inside a function
    function["Properties"]["SnapStart"] = {"ApplyOn": "None"}
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    assert not [f for f in validate(tmp_path / "template.yaml") if f.rule.startswith("snapstart")]


def test_the_visibility_rule_counts_the_batching_window(tmp_path: Path) -> None:
    """AWS's formula: visibility timeout >= 6 x function timeout + MaximumBatchingWindowInSeconds."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return None\n")
    function = sqs_function("app.handler", "Jobs", timeout=10, BatchSize=100, MaximumBatchingWindowInSeconds=10)
    template = sam_template({**queue_with_dlq("Jobs", queue_name="window-jobs", visibility=60), "Fn": function})
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    (visibility,) = [f for f in validate(tmp_path / "template.yaml") if f.rule == "visibility"]
    assert "6 x function timeout (10s) + batching window (10s) = 70s" in visibility.message

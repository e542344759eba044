"""``validate`` knows what django.tasks on Lambda needs: Django's settings, the results table, the grants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqs_lambda_dev.validate.doctor import validate
from sqs_lambda_testing.templates import id_keyed_table, queue_with_dlq, sam_template, sqs_function

HANDLER = "sqs_lambda.contrib.django.tasks.lambda_handler"


def findings(tmp_path: Path, function: dict[str, Any], results: dict[str, Any]) -> set[tuple[str, str, str]]:
    (tmp_path / "src").mkdir(exist_ok=True)
    template = sam_template({**queue_with_dlq("Jobs", queue_name="tasks-jobs"), "Tasks": function, "Results": results})
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    return {
        (f.severity, f.rule, f.message)
        for f in validate(tmp_path / "template.yaml")
        if f.rule in ("django-settings", "task-results")
    }


def test_the_tasks_function_needs_django_settings_the_grant_and_a_table_laid_out_for_results(tmp_path: Path) -> None:
    function = sqs_function(HANDLER, "Jobs", environment={"SQS_LAMBDA_TASK_RESULTS_TABLE": {"Ref": "Results"}})
    found = findings(tmp_path, function, id_keyed_table())
    assert ("error", "django-settings", "it runs django.tasks but DJANGO_SETTINGS_MODULE is not set") in found
    assert ("error", "task-results", "it runs tasks without dynamodb:UpdateItem on the results table") in found
    assert ("warning", "task-results", "the results table has no point-in-time recovery") in found
    assert any("no TTL on `expires_at`" in message for _, _, message in found)


def test_a_well_made_template_has_no_finding(tmp_path: Path) -> None:
    environment = {"SQS_LAMBDA_TASK_RESULTS_TABLE": {"Ref": "Results"}, "DJANGO_SETTINGS_MODULE": "site.settings"}
    function = sqs_function(HANDLER, "Jobs", environment=environment)
    statement = {"Effect": "Allow", "Action": ["dynamodb:UpdateItem"], "Resource": {"Fn::GetAtt": ["Results", "Arn"]}}
    function["Properties"]["Policies"] = [{"Version": "2012-10-17", "Statement": [statement]}]
    results = id_keyed_table(
        TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": True},
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
    )
    assert findings(tmp_path, function, results) == set()
    results["Properties"]["KeySchema"] = [{"AttributeName": "task", "KeyType": "HASH"}]
    assert any(
        "not the String partition key `id`" in message for _, _, message in findings(tmp_path, function, results)
    )

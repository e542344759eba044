"""``validate`` rules for ``django.tasks`` on Lambda (``sqs_lambda.contrib.django.tasks``):

- ``django-settings`` (error): the tasks' function (``Handler: sqs_lambda.contrib.django.tasks.lambda_handler``)
  without ``DJANGO_SETTINGS_MODULE``: Django cannot start.
- ``task-results`` (error): a results table (``SQS_LAMBDA_TASK_RESULTS_TABLE``) without the partition key
  ``id`` (String); the tasks' function without ``dynamodb:UpdateItem`` on it (every attempt writes); a
  function that enqueues (it has the variable too) without ``PutItem``, ``DeleteItem`` and ``GetItem``
  (the READY record, its removal when the send fails, ``get_result``).
- ``task-results`` (warning): the table without TTL on ``expires_at`` (records would stay forever) or
  without point-in-time recovery.
- ``task-results`` (info): the tasks' function without the variable: fine with ``"results": None`` or
  ``"database"``; ``"dynamodb"`` needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqs_lambda_dev.validate.readiness import grants
from sqs_lambda_dev.validate.template import Template

TASKS_HANDLER = "sqs_lambda.contrib.django.tasks.lambda_handler"
RESULTS_VARIABLE = "SQS_LAMBDA_TASK_RESULTS_TABLE"
CONSUMER_ACTIONS = ("dynamodb:UpdateItem",)
PRODUCER_ACTIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem")


class DjangoTasks:
    def __init__(self, template: Template, finding: Callable[..., Any]) -> None:
        self.t, self.finding = template, finding

    def findings(self) -> list[Any]:
        found: list[Any] = []
        tables: set[str] = set()
        for function in self.t.of_type("AWS::Lambda::Function"):
            raw = self.t.properties(function)
            variables = (raw.get("Environment") or {}).get("Variables") or {}
            consumer = self.t.resolve(raw.get("Handler")) == TASKS_HANDLER
            if consumer and "DJANGO_SETTINGS_MODULE" not in variables:
                found.append(
                    self.finding(
                        "error",
                        "django-settings",
                        function,
                        "it runs django.tasks but DJANGO_SETTINGS_MODULE is not set",
                        "set DJANGO_SETTINGS_MODULE in its Environment (or in Globals)",
                    )
                )
            table = variables.get(RESULTS_VARIABLE)
            if table is None:
                if consumer:
                    found.append(
                        self.finding(
                            "info",
                            "task-results",
                            function,
                            f"{RESULTS_VARIABLE} is not set: fine with OPTIONS results None or 'database'",
                            f'OPTIONS["results"] = "dynamodb" needs a table (key `id`, TTL on `expires_at`) '
                            f"and {RESULTS_VARIABLE}",
                        )
                    )
                continue
            table_id = self.t.logical_id_of(table) if isinstance(table, dict) else None
            if table_id:
                tables.add(table_id)
            actions = CONSUMER_ACTIONS if consumer else PRODUCER_ACTIONS
            if not grants(self.t, function, actions, table_id):
                side = "runs tasks" if consumer else "enqueues tasks (it has the results table)"
                found.append(
                    self.finding(
                        "error",
                        "task-results",
                        function,
                        f"it {side} without {', '.join(actions)} on the results table",
                        "add a policy statement with those actions on the table's ARN",
                    )
                )
        for table_id in sorted(tables):
            found += self.check_table(table_id)
        return found

    def check_table(self, table: str) -> list[Any]:
        properties = self.t.resolve(self.t.properties(table)) or {}
        keys = {k.get("AttributeName"): k.get("KeyType") for k in properties.get("KeySchema") or []}
        types = {a.get("AttributeName"): a.get("AttributeType") for a in properties.get("AttributeDefinitions") or []}
        found = []
        if keys != {"id": "HASH"} or types.get("id") != "S":
            found.append(
                self.finding(
                    "error",
                    "task-results",
                    table,
                    "the results table's key is not the String partition key `id`",
                    "KeySchema [{AttributeName: id, KeyType: HASH}], AttributeDefinitions [{id, S}]",
                )
            )
        ttl = properties.get("TimeToLiveSpecification") or {}
        if ttl.get("AttributeName") != "expires_at" or str(ttl.get("Enabled")).lower() != "true":
            found.append(
                self.finding(
                    "warning",
                    "task-results",
                    table,
                    "the results table has no TTL on `expires_at`: task records are never removed",
                    "TimeToLiveSpecification {AttributeName: expires_at, Enabled: true}",
                )
            )
        recovery = properties.get("PointInTimeRecoverySpecification") or {}
        if str(recovery.get("PointInTimeRecoveryEnabled")).lower() != "true":
            found.append(
                self.finding(
                    "warning",
                    "task-results",
                    table,
                    "the results table has no point-in-time recovery",
                    "PointInTimeRecoverySpecification {PointInTimeRecoveryEnabled: true}",
                )
            )
        return found

"""`validate`'s rules that read the function's code and the template together: idempotent jobs and their
table, the time left for records, and parameters the template does not declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from test_validate import BASE, mutate, rules, write

from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.validate.doctor import validate
from sqs_lambda_testing.templates import id_keyed_table

IDEMPOTENT_CODE = (
    "from sqs_lambda import Router\nrouter = Router()\n\n"
    "@router.job(idempotent=True)\ndef once(n: int) -> None:\n    pass\n"
)


def test_idempotent_jobs_need_their_table_and_its_grant(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(IDEMPOTENT_CODE)
    no_table = rules(tmp_path, BASE)
    assert "idempotency-table" in no_table
    assert "SQS_LAMBDA_IDEMPOTENCY_TABLE is not set" in no_table["idempotency-table"]

    def with_table(resources: dict[str, Any], grant: bool) -> None:
        resources["Keys"] = id_keyed_table(PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        properties = resources["Fn"]["Properties"]
        properties["Environment"] = {"Variables": {"SQS_LAMBDA_IDEMPOTENCY_TABLE": {"Ref": "Keys"}}}
        if grant:
            actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
            statement = {"Effect": "Allow", "Action": actions, "Resource": {"Fn::GetAtt": ["Keys", "Arn"]}}
            properties["Policies"] = [{"Statement": [statement]}]

    no_grant = rules(tmp_path, mutate(lambda r, t: with_table(r, grant=False)))
    assert "no grant of dynamodb:GetItem" in no_grant["idempotency-table"]
    assert "idempotency-table" not in rules(tmp_path, mutate(lambda r, t: with_table(r, grant=True)))


def test_lambda_default_timeout_has_room_for_records(tmp_path: Path) -> None:
    """Lambda's and SAM's default 3 s gets no timeout-room warning: the cut-off keeps 750 ms back."""
    found = rules(
        tmp_path,
        mutate(
            lambda r, t: (
                r["Fn"]["Properties"].update(Timeout=3),
                r["Queue"]["Properties"].update(VisibilityTimeout=18),
            )
        ),
    )
    assert "timeout-room" not in found, found


def test_an_unknown_parameter_is_refused_by_name(tmp_path: Path) -> None:

    with pytest.raises(ConfigurationError, match=r"--parameter Stag: .* no such parameter \(it has: MaxReceiveCount\)"):
        validate(write(tmp_path, BASE), parameters={"Stag": "dev"})

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sqs_lambda.consuming.delivery import judge_response
from sqs_lambda_dev.local.schedule import Schedule
from sqs_lambda_dev.local.trigger import FilterCriteria

IDS = ["a", "b", "c"]


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_complete_success(response: Any) -> None:
    verdict = judge_response(response, IDS)
    assert verdict.succeeded == IDS and verdict.failed == [] and not verdict.whole_batch_failed


def test_partial_failure() -> None:
    verdict = judge_response({"batchItemFailures": [{"itemIdentifier": "b"}]}, IDS)
    assert (verdict.succeeded, verdict.failed, verdict.whole_batch_failed) == (["a", "c"], ["b"], False)


@pytest.mark.parametrize(
    "response",
    [
        "ok",
        [],
        42,
        {"batchItemFailures": "b"},
        {"batchItemFailures": [{"itemIdentifier": ""}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{"itemId": "b"}]},
        {"batchItemFailures": [{"itemIdentifier": "zzz"}]},
        {"batchItemFailures": ["b"]},
        {"batchItemFailures": [{"itemIdentifier": "a"}], "x": object()},
    ],
)
def test_complete_failure(response: Any) -> None:
    verdict = judge_response(response, IDS)
    assert verdict.whole_batch_failed and verdict.failed == IDS and verdict.succeeded == [] and verdict.problem


def test_http_shaped_response_is_a_success_with_a_warning() -> None:
    verdict = judge_response({"statusCode": 200, "body": "{}"}, IDS)
    assert verdict.succeeded == IDS and "HTTP response" in verdict.problem


def test_rate_and_cron_schedules() -> None:
    start = dt.datetime(2026, 11, 23, 10, 7, tzinfo=dt.UTC)
    assert Schedule("rate(5 minutes)").next_after(start) == start + dt.timedelta(minutes=5)
    assert Schedule("rate(1 day)").next_after(start) == start + dt.timedelta(days=1)
    assert Schedule("cron(0/15 * * * ? *)").next_after(start) == start.replace(minute=15)
    # AWS weekdays: 2 is Monday; 2026-11-23 is a Monday, so the next is a week later
    assert Schedule("cron(0 9 ? * 2 *)").next_after(start) == dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    assert Schedule("cron(0 12 ? * MON-FRI *)").next_after(start) == start.replace(hour=12, minute=0)
    assert Schedule("cron(0 0 1 1 ? 2020)").next_after(start) is None  # a year that has passed: never again
    with pytest.raises(ValueError):
        Schedule("every 5 minutes")
    with pytest.raises(ValueError):
        Schedule("cron(0 12 * * ?)")


def test_filter_criteria_on_body_and_attributes() -> None:
    record = {
        "body": '{"kind": "keep", "n": 7}',
        "attributes": {},
        "messageAttributes": {"job": {"stringValue": "process_file", "dataType": "String"}},
    }
    assert FilterCriteria([{"body": {"kind": ["keep"]}}]).matches(record)
    assert not FilterCriteria([{"body": {"kind": ["drop"]}}]).matches(record)
    assert FilterCriteria([{"body": {"n": [{"numeric": [">", 5]}]}}]).matches(record)
    assert FilterCriteria([{"messageAttributes": {"job": {"stringValue": [{"prefix": "process"}]}}}]).matches(record)
    assert FilterCriteria([{"body": {"kind": ["x"]}}, {"body": {"kind": ["keep"]}}]).matches(record)
    assert not FilterCriteria([{"body": {"kind": ["keep"]}}]).matches({**record, "body": "plain text"})
    assert FilterCriteria().matches(record)


# The examples of AWS's EventBridge documentation ("Schedule expressions for rules"), from a Wednesday.
AWS_DOC_EXAMPLES = {
    "0 10 * * ? *": "2026-12-02T10:00",  # 10:00 every day
    "15 12 * * ? *": "2026-12-02T12:15",  # 12:15 every day
    "0 18 ? * MON-FRI *": "2026-12-02T18:00",  # 18:00 Monday to Friday
    "0 8 1 * ? *": "2027-01-01T08:00",  # 08:00 on the first day of the month
    "0/15 * * * ? *": "2026-12-02T00:15",  # every 15 minutes
    "0/10 * ? * MON-FRI *": "2026-12-02T00:10",  # every 10 minutes, Monday to Friday
    "0/5 8-17 ? * MON-FRI *": "2026-12-02T08:00",  # every 5 minutes from 08:00 to 17:55, Monday to Friday
    "0 9 ? * 2#1 *": "2026-12-07T09:00",  # 09:00 on the first Monday of the month
    "0 12 L * ? *": "2026-12-31T12:00",  # the last day of the month
    "0 8 3W * ? *": "2026-12-03T08:00",  # the weekday nearest the 3rd
    "0 10 ? * 5L *": "2026-12-31T10:00",  # the last Thursday of the month
    "0 0 1 1 ? 2028": "2028-01-01T00:00",  # the year field
}


@pytest.mark.parametrize("expression", sorted(AWS_DOC_EXAMPLES))
def test_aws_documentation_cron_examples(expression: str) -> None:
    start = dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)
    expected = dt.datetime.fromisoformat(AWS_DOC_EXAMPLES[expression]).replace(tzinfo=dt.UTC)
    assert Schedule(f"cron({expression})").next_after(start) == expected

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sqs_lambda.local.schedule import Schedule
from sqs_lambda.local.trigger import FilterCriteria, judge_response

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

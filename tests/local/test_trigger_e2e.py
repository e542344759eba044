"""End to end through the local runtime: each behaviour of Lambda's SQS trigger."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import function, queue_pair


def test_batch_window_collects_one_batch(run_local: Any) -> None:
    run = run_local(
        lambda log: {
            **queue_pair("Q", visibility=30),
            "Fn": function("ok", "Q", log_file=log, BatchSize=20, MaximumBatchingWindowInSeconds=3),
        },
        background=False,
    )
    for n in range(5):
        run.send("Q", {"n": n})
        time.sleep(0.2)
    run.runtime.run_background()
    run.wait_for(lambda: sum(len(e["ids"]) for e in run.log()) == 5)
    assert [len(e["ids"]) for e in run.log()] == [5]
    run.wait_for(lambda: run.total("Q") == 0)


def test_filter_criteria_deletes_non_matching_without_invoking(run_local: Any) -> None:
    pattern = json.dumps({"body": {"kind": ["keep"]}})
    run = run_local(
        lambda log: {
            **queue_pair("Q"),
            "Fn": function("ok", "Q", log_file=log, FilterCriteria={"Filters": [{"Pattern": pattern}]}),
        }
    )
    run.send("Q", {"kind": "drop"})
    run.send("Q", {"kind": "keep"})
    run.send("Q", "not json")
    run.wait_for(lambda: run.total("Q") == 0)
    bodies = [b for e in run.log() for b in e["bodies"]]
    assert bodies == [json.dumps({"kind": "keep"})]
    assert sum(t.stats.filtered for t in run.runtime.triggers.values()) == 2


def test_partial_failure_redelivers_only_the_failed(run_local: Any) -> None:
    run = run_local(
        lambda log: {**queue_pair("Q", visibility=1), "Fn": function("partial", "Q", log_file=log)}, background=False
    )
    for n in range(4):
        run.send("Q", {"n": n, "fail": n == 2})
    run.runtime.run_background()
    run.wait_for(lambda: run.total("Q") == 0)
    deliveries = [(json.loads(b)["n"], a) for e in run.log() for b, a in zip(e["bodies"], e["attempts"], strict=True)]
    assert sorted(deliveries) == [(0, "1"), (1, "1"), (2, "1"), (2, "2"), (3, "1")]


def test_an_id_not_in_the_batch_fails_the_whole_batch(run_local: Any) -> None:
    run = run_local(
        lambda log: {**queue_pair("Q", visibility=1), "Fn": function("invalid_id", "Q", log_file=log, BatchSize=10)},
        background=False,
    )
    for n in range(3):
        run.send("Q", {"n": n})
    run.runtime.run_background()
    run.wait_for(lambda: run.total("Q") == 0)
    attempts = sorted(a for e in run.log() for a in e["attempts"])
    assert attempts == ["1", "1", "1", "2", "2", "2"]
    assert any(t.stats.whole_batch_failures for t in run.runtime.triggers.values())


def test_a_function_timeout_fails_the_whole_batch(run_local: Any) -> None:
    run = run_local(lambda log: {**queue_pair("Q", visibility=2), "Fn": function("slow", "Q", log_file=log, timeout=1)})
    run.send("Q", {"n": 1})
    run.wait_for(lambda: run.total("Q") == 0, seconds=30)
    assert [a for e in run.log() for a in e["attempts"]] == ["1", "2"]
    trigger = next(iter(run.runtime.triggers.values()))
    assert trigger.stats.whole_batch_failures == 1


def test_context_counts_down_from_the_function_timeout(run_local: Any) -> None:
    run = run_local(lambda log: {**queue_pair("Q"), "Fn": function("ok", "Q", log_file=log, timeout=7)})
    run.send("Q", {"n": 1})
    run.wait_for(lambda: bool(run.log()))
    assert 5_000 < run.log()[0]["remaining_ms"] <= 7_000


def test_redrive_to_the_dlq_after_max_receive_count(run_local: Any) -> None:
    run = run_local(
        lambda log: {**queue_pair("Q", visibility=1, max_receive=2), "Fn": function("always_fails", "Q", log_file=log)}
    )
    run.send("Q", {"poison": True})
    run.wait_for(lambda: run.total("QDLQ") == 1, seconds=30)
    assert run.total("Q") == 0
    assert [a for e in run.log() for a in e["attempts"]] == ["1", "2"]


def test_fifo_order_is_kept_under_failure(run_local: Any) -> None:
    run = run_local(
        lambda log: {**queue_pair("Q", visibility=5, fifo=True), "Fn": function("jobs", "Q", log_file=log)},
        background=False,
    )
    from sqs_lambda import Producer

    producer = Producer(run.url("Q"))
    for n in range(5):
        producer.send("step", n=n, group_id="g1")
    run.runtime.run_background()
    run.wait_for(lambda: [e["n"] for e in run.log()][-1:] == [4])
    assert [e["n"] for e in run.log()] == [0, 1, 2, 2, 3, 4]


@pytest.mark.parametrize(
    ("scaling", "bound"),
    [
        ({"ScalingConfig": {"MaximumConcurrency": 2}}, 2),
        # provisioned mode replaces MaximumConcurrency: at most MaximumPollers at once
        ({"ProvisionedPollerConfig": {"MinimumPollers": 2, "MaximumPollers": 3}}, 3),
    ],
    ids=["maximum-concurrency", "provisioned-pollers"],
)
def test_the_trigger_bounds_its_invocations(run_local: Any, scaling: dict[str, Any], bound: int) -> None:
    run = run_local(
        lambda log: {
            **queue_pair("Q", visibility=30),
            "Fn": function("busy", "Q", log_file=log, BatchSize=1, **scaling),
        },
        background=False,
    )
    for n in range(4 * bound):
        run.send("Q", {"n": n})
    run.runtime.run_background()
    run.wait_for(lambda: len(run.log()) == 4 * bound, seconds=30)
    # Each invocation ran in an environment (a process) of its own function; never more than the bound.
    spans = [(e["start"], e["end"]) for e in run.log()]
    overlapping = max(sum(1 for start, end in spans if start <= moment < end) for moment, _ in spans)
    assert overlapping == bound
    assert len({e["pid"] for e in run.log()}) == bound
    assert run.runtime.functions["Fn"].stats.peak == bound


def schedule(log: Path, expression: str = "rate(1 hour)", **target: Any) -> dict[str, Any]:
    return {
        **queue_pair("Ticks"),
        "Fn": function("ok", "Ticks", log_file=log),
        "Rule": {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "ScheduleExpression": expression,
                "Targets": [{"Id": "t", "Arn": {"Fn::GetAtt": ["Ticks", "Arn"]}, **target}],
            },
        },
    }


@pytest.mark.parametrize(
    ("expression", "start", "fires"),
    [
        # 9:00 on the first Monday of every month (AWS's `#` example)
        ("cron(0 9 ? * 2#1 *)", "2026-12-07T08:59:58", ["2026-12-07T09:00:00Z", "2027-01-04T09:00:00Z"]),
        # noon on the last day of the month (`L` in day-of-month)
        ("cron(0 12 L * ? *)", "2026-12-31T11:59:59", ["2026-12-31T12:00:00Z", "2027-01-31T12:00:00Z"]),
        # the weekday nearest the 3rd (`W`): 3 January 2027 is a Sunday, so Monday the 4th
        ("cron(0 8 3W * ? *)", "2026-12-31T00:00:00", ["2027-01-04T08:00:00Z", "2027-02-03T08:00:00Z"]),
        # the last Friday of the month, only in 2026-2027 (`L` in day-of-week, and the year field)
        ("cron(15 10 ? * 6L 2026-2027)", "2027-11-01T00:00:00", ["2027-11-26T10:15:00Z", "2027-12-31T10:15:00Z"]),
    ],
)
def test_aws_cron_expressions_fire_at_their_times(
    run_local: Any, expression: str, start: str, fires: list[str]
) -> None:
    now = [dt.datetime.fromisoformat(start).replace(tzinfo=dt.UTC)]
    run = run_local(lambda log: schedule(log, expression), clock=lambda: now[0])
    for count, expected in enumerate(fires, start=1):
        due = dt.datetime.fromisoformat(expected.replace("Z", "+00:00"))
        now[0] = due - dt.timedelta(seconds=1)  # not yet
        time.sleep(0.5)
        assert len(run.log()) == count - 1
        now[0] = due + dt.timedelta(seconds=1)
        run.wait_for(lambda count=count: len(run.log()) == count)  # type: ignore[misc]
        assert json.loads(run.log()[-1]["bodies"][0])["time"] == expected


def test_a_schedule_sends_the_scheduled_event(run_local: Any) -> None:
    run = run_local(lambda log: schedule(log), fire_schedules=True)
    run.wait_for(lambda: bool(run.log()))
    event = json.loads(run.log()[0]["bodies"][0])
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"][0].startswith("arn:aws:events:us-east-1:123456789012:rule/")


def test_a_schedule_with_input_sends_it_verbatim(run_local: Any) -> None:
    run = run_local(lambda log: schedule(log, Input='{"task": "sweep"}'), fire_schedules=True)
    run.wait_for(lambda: bool(run.log()))
    assert run.log()[0]["bodies"] == ['{"task": "sweep"}']

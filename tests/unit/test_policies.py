"""Policies as values (#21, item 7): backoff values are frozen dataclasses, and the failure policy sees a
record's age, so dramatiq's age limit is one option (`max_age`)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from sqs_lambda import Router
from sqs_lambda.consuming import backoff
from sqs_lambda.consuming.policy import Attempt, JobPolicy, Verdict, decide
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing import InMemoryQueue, lambda_context, sqs_event


def test_backoff_policies_are_frozen_values() -> None:
    assert backoff.exponential(base=3) == backoff.Exponential(base=3.0) and backoff.constant(5) != backoff.constant(6)
    assert hash(backoff.immediate()) == hash(backoff.Immediate())
    assert repr(backoff.constant(30)) == "Constant(seconds=30)"
    with pytest.raises(dataclasses.FrozenInstanceError):
        backoff.constant(30).seconds = 1  # type: ignore[misc]  # the point: it is frozen
    with pytest.raises(ValueError, match="invalid exponential backoff"):
        backoff.exponential(min=10, max=1)
    assert backoff.delay_for(backoff.queue_default(), 3) is None and backoff.constant(7)(1) == 7


def test_decide_sees_the_age() -> None:
    policy = JobPolicy(max_age=60)
    error = RuntimeError("boom")
    assert decide(error, Attempt(1, age=30), policy).verdict == Verdict.RETRY
    old = decide(error, Attempt(1, age=3600), policy)
    assert old.verdict == Verdict.DEAD_LETTER and old.reason == "older than max_age (3600 s > 60 s)"
    assert decide(error, Attempt(1, age=None), policy).verdict == Verdict.RETRY  # unknown age: no limit
    assert decide(error, 2, JobPolicy()).verdict == Verdict.RETRY  # a plain number still works
    with pytest.raises(ValueError, match="max_age must be a positive"):
        JobPolicy(max_age=0)


def test_a_failing_job_past_max_age_goes_to_the_dlq_with_the_reason() -> None:
    router = Router(default_max_age=600)
    port = InMemoryQueue()
    router.backend = port

    @router.job()
    def flaky(n: int) -> None:
        raise RuntimeError("still failing")

    @router.job(max_age=7200)
    def patient(n: int) -> None:
        raise RuntimeError("still failing")

    an_hour_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    old_flaky = wire.encode("flaky", {"n": 1}, sent_at=an_hour_ago)[0]
    new_flaky = wire.encode("flaky", {"n": 2})[0]
    old_patient = wire.encode("patient", {"n": 3}, sent_at=an_hour_ago)[0]
    event = sqs_event(old_flaky, new_flaky, old_patient)
    ids = [record["messageId"] for record in event["Records"]]
    response = router.lambda_handler(event, lambda_context(sqs=None))
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[2]}]}
    (dead_letter,) = port.sends
    assert dead_letter["body"] == old_flaky
    reason = dead_letter["attributes"]["failure.decision"]["StringValue"]
    assert reason.startswith("older than max_age (") and reason.endswith(" s > 600 s)")

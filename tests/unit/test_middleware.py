"""Middleware: what each hook sees, and that a middleware's own failure is handled as documented."""

from __future__ import annotations

from typing import Any

from sqs_lambda import Reject, Router
from sqs_lambda.middleware import JobRun, Middleware, Outcome
from sqs_lambda_testing import InMemoryQueue, lambda_context, sqs_event


class Recorder(Middleware):
    def __init__(self, name: str, log: list[tuple[Any, ...]]) -> None:
        self.name, self.log = name, log

    def before_job(self, run: JobRun) -> None:
        self.log.append((self.name, "before", run.job, run.attempt, run.request_id))

    def after_job(self, run: JobRun, outcome: Outcome, error: BaseException | None) -> None:
        self.log.append((self.name, "after", run.job, outcome, type(error).__name__ if error else None, run.returned))


def make_router(log: list[tuple[Any, ...]]) -> tuple[Router, InMemoryQueue]:
    router = Router(default_max_retries=2, middleware=[Recorder("a", log)])
    router.add_middleware(Recorder("b", log))

    @router.job()
    def double(n: int) -> int:
        return n * 2

    @router.job()
    async def later(n: int) -> int:
        return n + 1

    @router.job()
    def flaky() -> None:
        raise RuntimeError("try again")

    @router.job()
    def poison() -> None:
        raise Reject("never")

    backend = InMemoryQueue()
    router.bind(None)
    return router, backend


def test_each_invoked_record_is_seen_before_and_after_in_order_with_its_outcome() -> None:
    log: list[tuple[Any, ...]] = []
    router, backend = make_router(log)
    event = sqs_event(("double", {"n": 4}), ("flaky", {}), ("poison", {}), receive_count=2)
    context = lambda_context(sqs=backend)
    response = router.lambda_handler(event, context)
    assert [item["itemIdentifier"] for item in response["batchItemFailures"]] == [event["Records"][1]["messageId"]]
    request = context.aws_request_id
    assert log == [
        ("a", "before", "double", 2, request),
        ("b", "before", "double", 2, request),
        ("b", "after", "double", "succeeded", None, 8),
        ("a", "after", "double", "succeeded", None, 8),
        ("a", "before", "flaky", 2, request),
        ("b", "before", "flaky", 2, request),
        ("b", "after", "flaky", "retried", "RuntimeError", None),
        ("a", "after", "flaky", "retried", "RuntimeError", None),
        ("a", "before", "poison", 2, request),
        ("b", "before", "poison", 2, request),
        ("b", "after", "poison", "dead_lettered", "Reject", None),
        ("a", "after", "poison", "dead_lettered", "Reject", None),
    ]
    assert len(backend.sends) == 1  # the poison's DLQ copy landed before "dead_lettered" was said


def test_async_jobs_return_what_they_awaited_and_the_last_retry_is_dead_lettered() -> None:
    log: list[tuple[Any, ...]] = []
    router, backend = make_router(log)
    router.lambda_handler(sqs_event(("later", {"n": 1}), ("flaky", {}), receive_count=3), lambda_context(sqs=backend))
    after = [entry for entry in log if entry[0] == "a" and entry[1] == "after"]
    assert sorted(after) == [
        ("a", "after", "flaky", "dead_lettered", "RuntimeError", None),
        ("a", "after", "later", "succeeded", None, 2),
    ]


def test_records_that_never_reach_a_job_see_no_middleware() -> None:
    log: list[tuple[Any, ...]] = []
    router, backend = make_router(log)
    router.lambda_handler(sqs_event(("nope", {}), "not json", ("double", {"n": "x"})), lambda_context(sqs=backend))
    assert log == []


class Failing(Middleware):
    def __init__(self, where: str) -> None:
        self.where = where

    def before_job(self, run: JobRun) -> None:
        if self.where == "before":
            raise ConnectionError("results store down")

    def after_job(self, run: JobRun, outcome: Outcome, error: BaseException | None) -> None:
        if self.where == "after":
            raise ConnectionError("results store down")


def test_a_failing_before_job_is_the_jobs_error_and_the_job_does_not_run() -> None:
    ran: list[int] = []
    router = Router(middleware=[Failing("before")])

    @router.job()
    def work(n: int) -> None:
        ran.append(n)

    event = sqs_event(("work", {"n": 1}))
    response = router.lambda_handler(event, lambda_context())
    assert ran == [] and response["batchItemFailures"] == [{"itemIdentifier": event["Records"][0]["messageId"]}]


def test_a_failing_after_job_changes_nothing() -> None:
    ran: list[int] = []
    router = Router(middleware=[Failing("after")])

    @router.job()
    def work(n: int) -> None:
        ran.append(n)

    response = router.lambda_handler(sqs_event(("work", {"n": 1})), lambda_context())
    assert ran == [1] and response == {"batchItemFailures": []}

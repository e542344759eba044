"""Every path runs a job through sqs_lambda.consuming.invoke: a coroutine is always awaited, errors never escape."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import pytest

from sqs_lambda import Router, current_context
from sqs_lambda.consuming.dispatch import Call
from sqs_lambda.consuming.invoke import invoke_now
from sqs_lambda.wire import envelope as wire
from sqs_lambda_testing import InMemoryQueue, lambda_context, sqs_event


@pytest.mark.parametrize("fifo", [False, True], ids=["standard", "fifo"])
@pytest.mark.parametrize("with_context", [False, True], ids=["no-context", "context"])
@pytest.mark.parametrize("observed", [False, True], ids=["plain", "observed"])
def test_an_async_job_runs_on_every_path(
    fifo: bool, with_context: bool, observed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if observed:
        monkeypatch.setenv("SQS_LAMBDA_METRICS", "true")
    router = Router()
    router.backend = InMemoryQueue(fifo=fifo)
    ran: list[tuple[int, Any]] = []

    @router.job()
    async def later(n: int) -> None:
        await asyncio.sleep(0)
        ran.append((n, current_context().get("request_id")))

    context = {"request_id": "r1"} if with_context else None
    event = sqs_event(*(wire.encode("later", {"n": n}, context=context)[0] for n in (1, 2)), fifo=fifo)
    response = router.lambda_handler(event, lambda_context())
    assert response == {"batchItemFailures": []}
    assert sorted(n for n, _ in ran) == [1, 2]
    assert {request for _, request in ran} == ({"r1"} if with_context else {None})


def test_a_sync_function_that_returns_a_coroutine_is_awaited() -> None:
    router = Router()
    ran: list[int] = []

    async def work(n: int) -> None:
        await asyncio.sleep(0)
        ran.append(n)

    router.job("wrapped")(functools.wraps(work)(lambda n: work(n)))  # looks sync, returns a coroutine
    assert router.lambda_handler(sqs_event(("wrapped", {"n": 3}), fifo=True), lambda_context()) == {
        "batchItemFailures": []
    }
    assert ran == [3]


def test_a_failing_async_job_on_fifo_is_reported_with_the_rest_of_the_batch() -> None:
    router = Router()
    router.backend = InMemoryQueue(fifo=True)

    @router.job()
    async def flaky(n: int) -> None:
        await asyncio.sleep(0)
        if n == 1:
            raise RuntimeError("boom")

    event = sqs_event(flaky.bake(n=0), flaky.bake(n=1), flaky.bake(n=2), fifo=True)
    response = router.lambda_handler(event, lambda_context())
    ids = [r["messageId"] for r in event["Records"]]
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == ids[1:]


def test_invoke_now_returns_errors_and_never_raises() -> None:
    def broken() -> None:
        raise ValueError("bad")

    async def broken_async() -> None:
        raise KeyError("worse")

    assert isinstance(invoke_now(Call("b", broken)), ValueError)
    assert isinstance(invoke_now(Call("a", broken_async, is_async=True)), KeyError)
    assert invoke_now(Call("ok", lambda: None)) is None


def test_an_async_job_inside_a_running_event_loop_is_a_failure_not_a_loss() -> None:
    async def job() -> None: ...

    async def from_a_loop() -> Exception | None:
        return invoke_now(Call("j", job, is_async=True))

    error = asyncio.run(from_a_loop())
    assert isinstance(error, RuntimeError) and "running event loop" in str(error)


def test_run_awaits_async_jobs_and_returns_their_result() -> None:
    router = Router()

    @router.job()
    async def double(n: int) -> int:
        await asyncio.sleep(0)
        return 2 * n

    @router.job()
    def triple(n: int) -> int:
        return 3 * n

    assert double.run(n=4) == 8 and triple.run(n=2) == 6
    with pytest.raises(TypeError):
        triple.run(n="x")

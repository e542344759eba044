from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from sqs_lambda import Reject, Retry, Router
from sqs_lambda.consuming import backoff
from sqs_lambda_testing import InMemoryQueue, lambda_context, sqs_event, sqs_record


def failures(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def ids(event: dict[str, Any]) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


def make_router(**options: Any) -> tuple[Router, InMemoryQueue]:
    router = Router(**options)
    backend = InMemoryQueue()
    router.backend = backend
    return router, backend


def test_sam_sample_event_without_routes_goes_to_the_dlq(sam_sqs_event: dict[str, Any]) -> None:
    router, backend = make_router()
    assert router.lambda_handler(sam_sqs_event, None) == {"batchItemFailures": []}
    assert backend.sends[0]["body"] == "Hello from SQS!"
    assert backend.sends[0]["attributes"]["failure.error_type"]["StringValue"] == "NoRouteError"


def test_sam_sample_event_with_a_text_route(sam_sqs_event: dict[str, Any]) -> None:
    router, backend = make_router()
    seen: list[str] = []
    router.raw(text=True)(seen.append)
    assert router.lambda_handler(sam_sqs_event, None) == {"batchItemFailures": []}
    assert seen == ["Hello from SQS!"] and backend.sends == []


def test_scheduled_event_in_sqs_and_direct(sam_scheduled_event: dict[str, Any]) -> None:
    router, _ = make_router()
    ticks: list[str] = []
    router.raw(source="aws.events", detail_type="Scheduled Event")(lambda e: ticks.append(e["id"]))
    assert router.lambda_handler(sqs_event(sam_scheduled_event), None) == {"batchItemFailures": []}
    assert router.lambda_handler(sam_scheduled_event, None) == {"batchItemFailures": []}
    assert ticks == [sam_scheduled_event["id"]] * 2


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"Records": []},
        {"Records": None},
        {"Records": "x"},
        [],
        "x",
        None,
        {"Records": [1, None, "x"]},
        {"source": "nobody"},
    ],
)
def test_odd_events_never_crash(event: Any) -> None:
    router, _ = make_router()
    assert router.lambda_handler(event, None) == {"batchItemFailures": []}


def test_partial_failure_reports_only_failed_ids() -> None:
    router, backend = make_router()

    @router.job()
    def work(n: int) -> None:
        if n % 2:
            raise RuntimeError(f"odd {n}")

    event = sqs_event(*[("work", {"n": n}) for n in range(6)])
    response = router.lambda_handler(event, None)
    assert failures(response) == [ids(event)[n] for n in (1, 3, 5)]
    # one ChangeMessageVisibilityBatch for the three failures, with the exponential default (1s, jittered)
    assert len(backend.visibility) == 1 and len(backend.visibility[0][1]) == 3
    assert all(seconds in (1,) for _, seconds in backend.visibility[0][1])


def test_every_record_failing_returns_every_id_by_default_or_raises_when_asked() -> None:
    for raise_option in (False, True):
        router, _ = make_router(raise_on_entire_batch_failure=raise_option)
        router.job("work")(lambda: (_ for _ in ()).throw(RuntimeError("no")))
        event = sqs_event(("work", {}), ("work", {}))
        if raise_option:
            with pytest.raises(BatchProcessingError):
                router.lambda_handler(event, None)
        else:
            assert failures(router.lambda_handler(event, None)) == ids(event)


def test_fifo_stops_at_first_failure() -> None:
    router, _ = make_router()
    ran: list[int] = []

    @router.job()
    def step(n: int) -> None:
        ran.append(n)
        if n == 2:
            raise RuntimeError("boom")

    event = sqs_event(*[("step", {"n": n}) for n in range(5)], fifo=True)
    assert failures(router.lambda_handler(event, None)) == ids(event)[2:]
    assert ran == [0, 1, 2]


def test_fifo_skip_group_on_error_keeps_other_groups_going() -> None:
    router, backend = make_router(fifo_skip_group_on_error=True)
    ran: list[tuple[str, int]] = []

    @router.job()
    def step(group: str, n: int) -> None:
        ran.append((group, n))
        if (group, n) == ("a", 1):
            raise RuntimeError("boom")

    plan = [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("a", 2), ("b", 2)]
    event = {
        "Records": [
            sqs_record(("step", {"group": g, "n": n}), fifo=True, group_id=g, sequence=i)
            for i, (g, n) in enumerate(plan)
        ]
    }
    response = router.lambda_handler(event, None)
    assert failures(response) == [ids(event)[2], ids(event)[4]]
    assert ran == [("a", 0), ("b", 0), ("a", 1), ("b", 1), ("b", 2)]
    # the failed record and the later record of its group share one visibility: the group returns together
    ((_, changes),) = backend.visibility
    assert [receipt for receipt, _ in changes] == [event["Records"][i]["receiptHandle"] for i in (2, 4)]
    assert changes[0][1] == changes[1][1]


def test_time_cut_off_reports_unstarted_records_without_backoff() -> None:
    router, backend = make_router(time_margin_ms=200)
    ran: list[int] = []

    @router.job()
    def slow(n: int) -> None:
        ran.append(n)
        time.sleep(0.15)

    event = sqs_event(*[("slow", {"n": n}) for n in range(10)])
    response = router.lambda_handler(event, lambda_context(remaining_ms=500))
    assert 1 <= len(ran) < 10
    assert failures(response) == ids(event)[len(ran) :]
    assert backend.visibility == [] and backend.sends == []


def test_validation_failure_goes_to_the_dlq_naming_job_and_argument() -> None:
    router, backend = make_router()
    router.job("charge")(lambda order_id: None)

    @router.job()
    def typed(order_id: int) -> None: ...

    event = sqs_event(("typed", {"order_id": "abc"}))
    assert router.lambda_handler(event, None) == {"batchItemFailures": []}
    reason = backend.sends[0]["attributes"]
    assert reason["failure.error_type"]["StringValue"] == "JobArgumentError"
    assert "job 'typed'" in reason["failure.error_message"]["StringValue"]
    assert "$.order_id" in reason["failure.error_message"]["StringValue"]
    assert backend.sends[0]["body"] == event["Records"][0]["body"]


def test_unknown_job_rejected_by_default_and_retried_when_configured() -> None:
    router, backend = make_router()
    event = sqs_event(("ghost", {}))
    assert router.lambda_handler(event, None) == {"batchItemFailures": []}
    assert backend.sends[0]["attributes"]["failure.error_type"]["StringValue"] == "UnknownJobError"
    router, backend = make_router(unknown_job="retry")
    assert failures(router.lambda_handler(event, None)) == ids(event)
    assert backend.sends == []


def test_retry_sets_exact_delay_and_reject_goes_to_the_dlq() -> None:
    router, backend = make_router()

    @router.job()
    def charge(order_id: str) -> None:
        if order_id == "busy":
            raise Retry(delay=60)
        raise Reject("order is invalid")

    event = sqs_event(("charge", {"order_id": "busy"}), ("charge", {"order_id": "bad"}))
    response = router.lambda_handler(event, None)
    assert failures(response) == [ids(event)[0]]
    assert backend.visibility[0][1][0][1] == 60
    attributes = backend.sends[0]["attributes"]
    assert attributes["failure.error_type"]["StringValue"] == "Reject"
    assert attributes["failure.error_message"]["StringValue"] == "order is invalid"
    assert attributes["failure.job"]["StringValue"] == "charge"
    assert attributes["job"]["StringValue"] == "charge"


def test_max_retries_sends_to_dlq_after_n_plus_one_attempts() -> None:
    router, backend = make_router()

    @router.job(max_retries=2, backoff=backoff.constant(5))
    def flaky() -> None:
        raise RuntimeError("still broken")

    for attempt, expected_dlq in ((1, 0), (2, 0), (3, 1)):
        event = sqs_event(("flaky", {}), receive_count=attempt)
        response = router.lambda_handler(event, None)
        assert len(backend.sends) == expected_dlq
        assert failures(response) == ([] if expected_dlq else ids(event))
    assert backend.sends[0]["attributes"]["failure.attempts"]["StringValue"] == "3"
    assert [changes[0][1] for _, changes in backend.visibility] == [5, 5]


def test_dlq_send_failure_or_missing_dlq_keeps_the_record() -> None:
    for backend in (InMemoryQueue(fail_sends=True), InMemoryQueue(dlq=False)):
        router = Router()
        router.backend = backend
        router.job("bad")(lambda: (_ for _ in ()).throw(Reject("never")))
        event = sqs_event(("bad", {}))
        assert failures(router.lambda_handler(event, None)) == ids(event)
        assert backend.visibility == []  # no backoff: it returns after the queue's timeout


def test_fifo_dlq_copy_keeps_group_and_derives_dedup() -> None:
    router, backend = make_router()
    router.job("bad")(lambda: (_ for _ in ()).throw(Reject("never")))
    event = sqs_event(("bad", {}), fifo=True, group_id="tenant-7")
    assert router.lambda_handler(event, None) == {"batchItemFailures": []}
    sent = backend.sends[0]
    assert sent["group_id"] == "tenant-7"
    assert sent["dedup_id"] == f"dlq-{ids(event)[0]}-1"


def test_long_delay_is_deferred_with_a_hop() -> None:
    router, backend = make_router()
    ran: list[int] = []
    router.job("later")(lambda: ran.append(1))
    from sqs_lambda.wire import envelope as wire

    future = wire.format_time(
        __import__("datetime").datetime.now(__import__("datetime").UTC) + __import__("datetime").timedelta(seconds=3600)
    )
    body, envelope_id = wire.encode("later", {}, not_before=future)
    event = sqs_event(body)
    assert router.lambda_handler(event, None) == {"batchItemFailures": []}
    assert ran == []
    hop = wire.decode(backend.sends[0]["body"])
    assert isinstance(hop, wire.Envelope) and hop.id == envelope_id and hop.hops == 1
    assert backend.sends[0]["delay"] == 900


def test_async_jobs_run_concurrently_with_a_bound() -> None:
    router, _ = make_router(max_concurrency=3)
    active = peak = 0
    lock = threading.Lock()

    @router.job()
    async def fetch(n: int) -> None:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        await asyncio.sleep(0.02)
        with lock:
            active -= 1
        if n == 4:
            raise RuntimeError("boom")

    event = sqs_event(*[("fetch", {"n": n}) for n in range(10)])
    assert failures(router.lambda_handler(event, None)) == [ids(event)[4]]
    assert peak == 3


def test_failures_are_logged_once_as_json_without_arguments(caplog: pytest.LogCaptureFixture) -> None:
    from sqs_lambda import observe

    router, _ = make_router()

    @router.job()
    def charge(card_number: str) -> None:
        raise RuntimeError("declined")

    event = sqs_event(("charge", {"card_number": "4111-SECRET"}), receive_count=3)
    router.lambda_handler(event, None)
    formatter = observe.logger().registered_formatter
    lines = [json.loads(formatter.format(record)) for record in caplog.records]
    failure_lines = [line for line in lines if line.get("message_id") == ids(event)[0]]
    assert len(failure_lines) == 1
    line = failure_lines[0]
    assert (line["job"], line["attempt"], line["error_type"], line["error_message"]) == (
        "charge",
        3,
        "RuntimeError",
        "declined",
    )
    assert "4111-SECRET" not in json.dumps(lines)


def test_ten_thousand_records() -> None:
    router, _ = make_router()
    count = 0

    @router.job()
    def tick(n: int) -> None:
        nonlocal count
        count += 1
        if n == 9_999:
            raise RuntimeError("last")

    event = sqs_event(*[("tick", {"n": n}) for n in range(10_000)])
    assert failures(router.lambda_handler(event, lambda_context(remaining_ms=900_000))) == [ids(event)[-1]]
    assert count == 10_000


@pytest.mark.parametrize("skip_group", [False, True])
def test_fifo_reject_continues_and_retry_stops_in_both_modes(skip_group: bool) -> None:
    router, backend = make_router(fifo_skip_group_on_error=skip_group)
    ran: list[int] = []

    @router.job()
    def step(n: int) -> None:
        ran.append(n)
        if n == 1:
            raise Reject("bad order")  # copied to the DLQ: reported as a success, the group goes on
        if n == 3:
            raise Retry(delay=7)  # the group stops here, and waits 7 s

    event = sqs_event(*[("step", {"n": n}) for n in range(5)], fifo=True, group_id="g")
    response = router.lambda_handler(event, None)
    assert ran == [0, 1, 2, 3]
    assert failures(response) == ids(event)[3:]
    assert len(backend.sends) == 1 and backend.sends[0]["group_id"] == "g"
    ((_, changes),) = backend.visibility
    assert [seconds for _, seconds in changes] == [7, 7]

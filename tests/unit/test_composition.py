"""A large app's jobs across modules (`include_router`), and the router inside Powertools' own batch
processors (`record_handler`), FIFO included (#21, item 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)

from sqs_lambda import Producer, Reject, Router
from sqs_lambda.consuming import backoff
from sqs_lambda.errors import ConfigurationError
from sqs_lambda_testing import InMemoryQueue, drain, lambda_context, sqs_event


def emails_module() -> tuple[Router, Any]:
    """What `myapp/emails.py` would hold: its own router of jobs."""
    emails = Router()
    sent: list[str] = []

    @emails.job(max_retries=7)
    def send(to: str) -> None:
        sent.append(to)

    @emails.job()
    def bounce(to: str) -> None:
        raise RuntimeError("mailbox full")

    return emails, (send, sent)


def test_include_router_names_jobs_with_the_prefix_and_sends_through_the_main_queue() -> None:
    emails, (send, sent) = emails_module()
    main = Router(default_max_retries=2, default_backoff=backoff.constant(5))
    main.include_router(emails, prefix="emails")
    assert sorted(main.jobs) == ["emails.bounce", "emails.send"]
    assert main.jobs["emails.send"].policy.max_retries == 7  # its own setting is kept
    assert main.jobs["emails.bounce"].policy.max_retries == 2  # the including router's default fills in
    queue = InMemoryQueue()
    main.bind(Producer(queue.url, backend=queue, router=main))
    send.delay(to="ada@example.com")  # the job's proxy now sends its prefixed name, to the main queue
    assert queue.jobs() == [("emails.send", {"to": "ada@example.com"})]
    drain(main, queue)
    assert sent == ["ada@example.com"]
    response = main.lambda_handler(sqs_event(("emails.send", {"to": "bob@example.com"})), lambda_context())
    assert response == {"batchItemFailures": []} and sent[-1] == "bob@example.com"


def test_include_router_refuses_a_name_clash_and_takes_raw_routes() -> None:
    main = Router()

    @main.job("emails.send")
    def taken(to: str) -> None: ...

    emails, _ = emails_module()
    with pytest.raises(ConfigurationError, match=r"job 'emails\.send' is already registered here"):
        main.include_router(emails, prefix="emails")
    events = Router()
    ticks: list[str] = []
    events.raw(source="aws.events")(lambda event: ticks.append(event["id"]))
    main.include_router(events)
    main.lambda_handler({"source": "aws.events", "id": "e1", "detail-type": "Scheduled Event"}, None)
    assert ticks == ["e1"]


def make_router() -> tuple[Router, InMemoryQueue, list[int]]:
    router = Router(default_backoff=backoff.constant(30))
    port = InMemoryQueue()
    router.backend = port
    ran: list[int] = []

    @router.job()
    def step(n: int) -> None:
        ran.append(n)
        if n == 1:
            raise RuntimeError("one fails")
        if n == 2:
            raise Reject("two is poison")

    return router, port, ran


def test_record_handler_inside_powertools_batch_processor() -> None:
    router, port, ran = make_router()
    event = sqs_event(*[("step", {"n": n}) for n in range(4)])
    ids = [record["messageId"] for record in event["Records"]]
    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(
        event=event, record_handler=router.record_handler, processor=processor, context=lambda_context(sqs=None)
    )
    assert ran == [0, 1, 2, 3]
    assert response == {"batchItemFailures": [{"itemIdentifier": ids[1]}]}  # the poison one went to the DLQ
    (dead_letter,) = port.sends
    assert dead_letter["attributes"]["failure.error_message"]["StringValue"] == "two is poison"
    ((_, changes),) = port.visibility  # the failed record's backoff, set by our policy
    assert [seconds for _, seconds in changes] == [30]


def test_record_handler_inside_powertools_fifo_processor() -> None:
    router, port, ran = make_router()
    event = sqs_event(*[("step", {"n": n}) for n in range(4)], fifo=True)
    ids = [record["messageId"] for record in event["Records"]]
    response = process_partial_response(
        event=event, record_handler=router.record_handler, processor=SqsFifoPartialProcessor()
    )
    assert ran == [0, 1]  # Powertools stops the FIFO batch at the first failure
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in ids[1:]]}
    assert json.loads(event["Records"][1]["body"])["job"] == "step"
    ((_, changes),) = port.visibility  # the failed record keeps our backoff; SQS holds its group meanwhile
    assert [(receipt, seconds) for receipt, seconds in changes] == [(event["Records"][1]["receiptHandle"], 30)]

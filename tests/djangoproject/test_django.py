"""The Django integration on a small project (SQLite), with its queue on the embedded engine."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from sqs_lambda.consuming import failure
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


def bodies(sqs_local: LocalSqs, url: str) -> list[dict[str, Any]]:
    messages = sqs_local.receive(url, wait=1)
    sqs_local.backend.change_visibility(url, [(m["ReceiptHandle"], 0) for m in messages])
    return [json.loads(m["Body"]) for m in messages]


def test_a_rolled_back_transaction_sends_nothing(shop: Any, sqs_local: LocalSqs, shop_queue: QueuePair) -> None:
    from django.db import transaction

    from djangoproject.shop.models import Order

    with pytest.raises(RuntimeError), transaction.atomic():
        order = Order.objects.create(number="A-1")
        shop.ship.delay_on_commit(order=order)
        raise RuntimeError("the view failed")
    assert sqs_local.total(shop_queue.url) == 0 and Order.objects.count() == 0
    with transaction.atomic():
        order = Order.objects.create(number="A-2")
        shop.ship.delay_on_commit(order=order, carrier="courier")
        assert sqs_local.total(shop_queue.url) == 0  # not before the commit
    (sent,) = bodies(sqs_local, shop_queue.url)
    assert sent["job"] == "ship" and sent["kwargs"] == {"order": order.pk, "carrier": "courier"}


def test_bad_arguments_raise_at_the_call_not_at_the_commit(shop: Any) -> None:
    from django.db import transaction

    from sqs_lambda.errors import JobArgumentError

    with pytest.raises(JobArgumentError), transaction.atomic():
        shop.note.delay_on_commit(text=42)


def test_a_model_argument_round_trips(shop: Any, sqs_local: LocalSqs, shop_queue: QueuePair) -> None:
    from djangoproject.shop.models import Order

    order = Order.objects.create(number="B-7")
    shop.ship.delay(order=order)
    (sent,) = bodies(sqs_local, shop_queue.url)
    assert sent["kwargs"] == {"order": order.pk}  # the primary key travels
    judgement = sqs_local.deliver(shop.router, shop_queue)
    assert judgement is not None and judgement.failed == []
    assert shop.shipped == [(order.pk, "B-7")]  # fetched again: the job got the row


def test_a_deleted_row_goes_to_the_dlq_naming_model_and_key(
    shop: Any, sqs_local: LocalSqs, shop_queue: QueuePair
) -> None:
    from djangoproject.shop.models import Order

    order = Order.objects.create(number="C-3")
    key = order.pk
    shop.ship.delay(order=order)
    order.delete()
    sqs_local.deliver(shop.router, shop_queue)
    (dead,) = sqs_local.receive(shop_queue.dlq_url, wait=1)
    reason = failure.read_failure(dead["MessageAttributes"])
    assert reason["error_type"] == "Reject"
    assert f"Order with primary key {key} does not exist" in reason["error_message"]
    assert reason["job"] == "ship"  # was "-": the Reject raised before the job ran names it
    assert shop.shipped == []


def test_a_model_parameter_is_checked_at_the_call(shop: Any, sqs_local: LocalSqs, shop_queue: QueuePair) -> None:
    """Before: "not an order" was sent, then retried forever (Django's ValueError on the lookup)."""
    from sqs_lambda.errors import JobArgumentError
    from sqs_lambda.wire import envelope

    with pytest.raises(
        JobArgumentError, match="job 'ship': invalid arguments: 'order' must be an instance of Order or its primary key"
    ):
        shop.ship.delay(order="not an order")
    assert sqs_local.total(shop_queue.url) == 0
    shop.ship.delay(order=7)  # a primary key is fine (the row is looked up when the job runs)
    # A message that names no valid key (another producer's) goes to the DLQ at once, naming the job.
    sqs_local.backend.send(shop_queue.url, envelope.encode("ship", {"order": "not an order"})[0])
    sqs_local.deliver(shop.router, shop_queue)
    reasons = [failure.read_failure(m["MessageAttributes"]) for m in sqs_local.receive(shop_queue.dlq_url, wait=1)]
    assert sorted(r["error_message"] for r in reasons) == [
        "job 'ship': 'not an order' is not a primary key of Order",
        "job 'ship': Order with primary key 7 does not exist",
    ]
    assert {r["job"] for r in reasons} == {"ship"}


def test_sqs_purge_with_closed_stdin_says_so(shop: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.management import CommandError, call_command

    def closed(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", closed)
    with pytest.raises(CommandError, match="not purged: nobody answered"):
        call_command("sqs_purge")


def test_management_commands(shop: Any, sqs_local: LocalSqs, shop_queue: QueuePair) -> None:
    from django.core.management import call_command

    from djangoproject.shop.models import Order

    for number in ("D-1", "D-2", "D-3"):
        shop.ship.delay(order=Order.objects.create(number=number))
    out = io.StringIO()
    call_command("sqs_status", stdout=out)
    assert "shop-jobs: 3 visible, 0 in flight, 0 delayed" in out.getvalue()
    assert "shop-jobs-dlq: 0 visible" in out.getvalue()
    out = io.StringIO()
    call_command("sqs_worker", "--wait", "1", "--shutdown", "idle:1", stdout=out)
    assert "handled 3: 3 succeeded, 0 failed" in out.getvalue()
    assert sorted(number for _, number in shop.shipped) == ["D-1", "D-2", "D-3"]
    out = io.StringIO()
    call_command("sqs_wait", "--timeout", "5", stdout=out)
    assert "shop-jobs is empty" in out.getvalue()
    shop.note.delay(text="left behind")
    call_command("sqs_purge", "--yes", stdout=io.StringIO())
    assert sqs_local.total(shop_queue.url) == 0


def test_the_lambda_handler_closes_old_connections_around_each_batch(
    shop: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import django.db

    from sqs_lambda.contrib.django import lambda_handler
    from sqs_lambda_testing import sqs_event

    closed: list[int] = []
    monkeypatch.setattr(django.db, "close_old_connections", lambda: closed.append(1))
    handler = lambda_handler()  # the router from SQS_LAMBDA["ROUTER"]
    assert handler(sqs_event(("note", {"text": "from lambda"})), None) == {"batchItemFailures": []}
    assert closed == [1, 1] and shop.shipped == [(0, "from lambda")]

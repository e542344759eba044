"""SQS fair queues: a standard queue's messages carry a ``MessageGroupId`` naming their tenant. The producer
takes one (or derives it from the job's context), and the DLQ copy, a hop and a redrive keep it; a
deduplication id stays FIFO-only."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sqs_lambda import Producer, Reject, Router, context
from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev import ops
from sqs_lambda_testing.sqs import LocalSqs

router = Router()
done: list[tuple[str, int]] = []


@router.job()
def work(tenant: str, n: int) -> None:
    if n < 0:
        raise Reject(f"bad n for {tenant}")
    done.append((tenant, n))


def groups(sqs: LocalSqs, url: str) -> Counter[str | None]:
    seen: Counter[str | None] = Counter()
    while True:
        got = sqs.client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
        messages = got.get("Messages", [])
        if not messages:
            return seen
        for message in messages:
            seen[message.get("Attributes", {}).get("MessageGroupId")] += 1
        sqs.client.delete_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        )


def test_two_tenants_one_noisy_keep_their_group_ids(sqs_local: LocalSqs) -> None:
    pair = sqs_local.create_queue_pair("fair-tenants")
    producer = Producer(pair.url, router=router, default_group_id=lambda values: values.get("tenant"))
    with context(tenant="noisy"):
        producer.send_many([("work", {"tenant": "noisy", "n": n}) for n in range(25)])
    with context(tenant="quiet"):
        producer.send("work", tenant="quiet", n=1)
    producer.send("work", tenant="explicit", n=2, group_id="named")
    producer.send("work", tenant="nobody", n=3)  # no group: its own tenant, as SQS says
    assert groups(sqs_local, pair.url) == Counter({"noisy": 25, "quiet": 1, "named": 1, None: 1})


def test_a_deduplication_id_is_still_fifo_only(sqs_local: LocalSqs) -> None:
    pair = sqs_local.create_queue_pair("fair-dedup")
    with pytest.raises(ConfigurationError, match="deduplication_id applies to FIFO queues only"):
        Producer(pair.url, router=router).send("work", tenant="t", n=1, deduplication_id="d")


def test_the_dlq_copy_and_a_redrive_keep_the_tenant(sqs_local: LocalSqs) -> None:
    pair = sqs_local.create_queue_pair("fair-dlq")
    routed = Router(queue_url=pair.url)
    routed.include_router(router)
    Producer(pair.url, router=router).send("work", tenant="acme", n=-1, group_id="acme")
    delivery = sqs_local.deliver(routed, pair)
    assert delivery is not None and len(delivery.dead_lettered) == 1
    (dead,) = ops.peek(sqs_local.backend, pair.dlq_url)
    assert dead["group"] == "acme" and dead["failure"]["error_type"] == "Reject"
    ops.redrive(sqs_local.backend, pair.dlq_url, pair.url, use_move_task=False)
    assert groups(sqs_local, pair.url) == Counter({"acme": 1})


def test_the_cli_sends_a_tenant_to_a_standard_queue(sqs_local: LocalSqs, tmp_path: Path) -> None:
    from tests.cli.test_cli import cli

    pair = sqs_local.create_queue_pair("fair-cli")
    cli(
        "send",
        "work",
        "--kwargs",
        '{"tenant": "acme", "n": 1}',
        "--queue",
        pair.url,
        "--group",
        "acme",
        endpoint=sqs_local.url,
        cwd=tmp_path,
    )
    assert groups(sqs_local, pair.url) == Counter({"acme": 1})

"""The shop app of the small Django project (configured once per session in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sqs_lambda_testing.sqs import LocalSqs, QueuePair


@pytest.fixture
def shop(django_project: Any, sqs_local: LocalSqs, shop_queue: QueuePair) -> Iterator[Any]:
    from djangoproject.shop import jobs

    for url in (shop_queue.url, shop_queue.dlq_url):  # emptied by hand: SQS allows one purge a minute
        while messages := sqs_local.receive(url, wait=0):
            sqs_local.backend.delete(url, [m["ReceiptHandle"] for m in messages])
    jobs.shipped.clear()
    yield jobs

"""pytest plugin (registered as ``sqs_lambda``): a real SQS wire endpoint for tests.

- ``sqs_local``: an embedded moto server on 127.0.0.1 for the whole session, with
  ``AWS_ENDPOINT_URL`` and dummy credentials set (so boto3 and sqs-lambda reach it, never AWS).
- ``sqs_queue``: a fresh queue with a DLQ (``maxReceiveCount`` 5) for each test; a :class:`QueuePair`.
- ``sqs_lambda_router``: a helper that feeds what is in a queue to a router as Lambda would.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from sqs_lambda_testing.sqs import LocalSqs, QueuePair

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_DYNAMODB")


@pytest.fixture(scope="session")
def sqs_local() -> Iterator[LocalSqs]:
    """An embedded SQS endpoint (moto) for the test session; yields a :class:`LocalSqs`."""
    from sqs_lambda.aws import reset
    from sqs_lambda_dev.engine.moto_server import LOCAL_CREDENTIALS, EmbeddedEngine

    engine = EmbeddedEngine(in_process=os.environ.get("SQS_LAMBDA_TEST_ENGINE") == "thread")
    url = engine.start()
    saved = {k: os.environ.get(k) for k in (*ENDPOINT_VARIABLES, *LOCAL_CREDENTIALS)}
    os.environ.update(LOCAL_CREDENTIALS)
    for name in ENDPOINT_VARIABLES:
        os.environ[name] = url
    reset()
    try:
        yield LocalSqs(url)
    finally:
        engine.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        reset()


@pytest.fixture
def sqs_queue(sqs_local: LocalSqs, request: pytest.FixtureRequest) -> QueuePair:
    """A fresh standard queue with a DLQ. Mark a test ``@pytest.mark.sqs_queue(fifo=True, ...)`` to vary it."""
    marker = request.node.get_closest_marker("sqs_queue")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    return sqs_local.create_queue_pair(f"t{uuid.uuid4().hex[:10]}", **options)


@pytest.fixture
def sqs_lambda_router(sqs_local: LocalSqs) -> Any:
    """``deliver(router, queue_pair, ...)``: receive from the queue and invoke the router as Lambda would."""
    return sqs_local.deliver


@pytest.fixture
def idempotency_table(sqs_local: LocalSqs, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh idempotency table on the embedded engine, named in ``SQS_LAMBDA_IDEMPOTENCY_TABLE``."""
    from sqs_lambda.consuming.idempotency import TABLE_VARIABLE

    name = sqs_local.create_idempotency_table(f"idempotency-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv(TABLE_VARIABLE, name)
    return name


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqs_queue(fifo=False, visibility_timeout=30, max_receive_count=5): options for the sqs_queue fixture",
    )

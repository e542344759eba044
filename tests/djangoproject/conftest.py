"""A small Django project on SQLite, configured once for these tests, with its queue on the embedded engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda_testing.sqs import LocalSqs, QueuePair


@pytest.fixture(scope="session")
def shop_queue(sqs_local: LocalSqs) -> QueuePair:
    return sqs_local.create_queue_pair("shop-jobs")


@pytest.fixture(scope="session")
def django_project(
    sqs_local: LocalSqs, shop_queue: QueuePair, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    django = pytest.importorskip("django")
    from django.conf import settings

    database = Path(tmp_path_factory.mktemp("django")) / "db.sqlite3"
    settings.configure(
        INSTALLED_APPS=["sqs_lambda.contrib.django", "djangoproject.shop"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        USE_TZ=True,
        SQS_LAMBDA={
            "ROUTER": "djangoproject.shop.jobs:router",
            "QUEUE": "jobs",
            "STAGE": "shop",
            "ENDPOINT_URL": sqs_local.url,
            "REGION": "us-east-1",
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    yield django


@pytest.fixture
def shop(django_project: Any, sqs_local: LocalSqs, shop_queue: QueuePair) -> Iterator[Any]:
    from djangoproject.shop import jobs

    for url in (shop_queue.url, shop_queue.dlq_url):  # emptied by hand: SQS allows one purge a minute
        while messages := sqs_local.receive(url, wait=0):
            sqs_local.backend.delete(url, [m["ReceiptHandle"] for m in messages])
    jobs.shipped.clear()
    yield jobs

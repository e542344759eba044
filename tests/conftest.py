"""Test-wide safety: nothing in this suite can reach real AWS.

Dummy credentials and a dead loopback endpoint are set before any client exists; the ``sqs_local``
fixture (our pytest plugin) replaces the endpoint with the embedded moto server for the tests that
use it.
"""

from __future__ import annotations

import json
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

from sqs_lambda_testing.sqs import LocalSqs, QueuePair

# Fuzzing depth: 300 examples by default; HYPOTHESIS_PROFILE=deep for a long run by hand.
settings.register_profile("default", max_examples=300)
settings.register_profile("deep", max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_MAX_ATTEMPTS": "1",
    }
)
for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_SQS"):
    os.environ.pop(_name, None)

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED_EVENTS = ROOT.parent / "shared" / "events"


@pytest.fixture
def sam_sqs_event() -> dict[str, Any]:
    """SAM CLI's sample SQS event (from ../shared/events when present, else the same content)."""
    path = SHARED_EVENTS / "sqs-receive-message.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    return {
        "Records": [
            {
                "messageId": "19dd0b57-b21e-4ac1-bd88-01bbb068cb78",
                "receiptHandle": "MessageReceiptHandle",
                "body": "Hello from SQS!",
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1523232000000",
                    "SenderId": "123456789012",
                    "ApproximateFirstReceiveTimestamp": "1523232000001",
                },
                "messageAttributes": {},
                "md5OfBody": "7b270e59b47ff90a553787216d55d91d",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:MyQueue",
                "awsRegion": "us-east-1",
            }
        ]
    }


@pytest.fixture
def sam_scheduled_event() -> dict[str, Any]:
    path = SHARED_EVENTS / "cloudwatch-scheduled-event.json"
    if path.exists():
        return dict(json.loads(path.read_text()))
    return {
        "id": "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "1970-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/ExampleRule"],
        "detail": {},
    }


# -- Django, configured once per session (settings cannot be configured twice) ----------------------------


@pytest.fixture(scope="session")
def shop_queue(sqs_local: LocalSqs) -> QueuePair:
    return sqs_local.create_queue_pair("shop-jobs")


@pytest.fixture(scope="session")
def task_queues(sqs_local: LocalSqs) -> dict[str, QueuePair]:
    """The django.tasks queues: "default" and "emails" (stage "shop"), and the results table."""
    os.environ["SQS_LAMBDA_TASK_RESULTS_TABLE"] = sqs_local.create_idempotency_table("task-results")
    return {
        "default": sqs_local.create_queue_pair("shop-tasks", max_receive_count=10),
        "emails": sqs_local.create_queue_pair("shop-emails", max_receive_count=10),
    }


@pytest.fixture(scope="session")
def django_project(
    sqs_local: LocalSqs,
    shop_queue: QueuePair,
    task_queues: dict[str, QueuePair],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    django = pytest.importorskip("django")
    from django.conf import settings as django_settings

    database = pathlib.Path(tmp_path_factory.mktemp("django")) / "db.sqlite3"
    backport = ["django_tasks"] if django.VERSION < (6, 0) else []  # Django 6 has django.tasks built in
    sqs_lambda_backend = "sqs_lambda.contrib.django.tasks.SQSLambdaBackend"
    django_settings.configure(
        INSTALLED_APPS=[*backport, "eb_sqs", "sqs_lambda.contrib.django", "djangoproject.shop", "djangoproject.mail"],
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
        TASKS={
            "default": {
                "BACKEND": sqs_lambda_backend,
                "QUEUES": ["default", "emails"],
                "OPTIONS": {
                    "queues": {"default": "tasks", "emails": "emails"},
                    "results": "dynamodb",
                    "max_retries": 2,
                },
            },
            "database": {
                "BACKEND": sqs_lambda_backend,
                "OPTIONS": {"queues": {"default": "tasks"}, "results": "database"},
            },
            "tenants": {  # fair queues: the tenant set with context(tenant=...) is each task's group
                "BACKEND": sqs_lambda_backend,
                "OPTIONS": {"queues": {"default": "tasks"}, "group_id": lambda context: context.get("tenant")},
            },
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0)
    yield django

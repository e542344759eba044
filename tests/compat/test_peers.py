"""Existing producers (the real libraries) enqueue; our router consumes. Pickle never gets through."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sqs_lambda import Router
from sqs_lambda.consuming import failure
from sqs_lambda_testing.sqs import LocalSqs, QueuePair


def dlq_reasons(sqs_local: LocalSqs, queue: QueuePair) -> list[dict[str, str]]:
    return [failure.read_failure(m.get("MessageAttributes", {})) for m in sqs_local.receive(queue.dlq_url, wait=1)]


def deliver_all(sqs_local: LocalSqs, router: Router, queue: QueuePair, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while sqs_local.total(queue.url) and time.monotonic() < deadline:
        sqs_local.deliver(router, queue, wait=1)


# -- sqs-workers --------------------------------------------------------------------------------------


def workers_queue(sqs_local: LocalSqs, queue: QueuePair, codec: str) -> Any:
    import boto3
    from sqs_workers import SQSEnv

    env = SQSEnv(
        session=boto3.session.Session(region_name="us-east-1"),
        codec=codec,
        sqs_client=sqs_local.client,
        sqs_resource=boto3.resource("sqs", region_name="us-east-1"),
    )
    return env, env.queue(queue.name)


def test_sqs_workers_json_messages_are_consumed(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    env, queue = workers_queue(sqs_local, sqs_queue, "json")
    send_email = queue.connect_processor("send_email", lambda to, subject, body: None)
    env.context.set(request_id="abc", remote_addr="127.0.0.1")
    send_email.delay(to="user@example.com", subject="Hello", body="hi")
    router = Router(accept=["sqs_lambda", "sqs_workers"])
    seen: list[Any] = []

    @router.job("send_email")
    def handler(to: str, subject: str, body: str, context: dict[str, Any]) -> None:
        seen.append((to, subject, body, context.get("request_id")))

    deliver_all(sqs_local, router, sqs_queue)
    assert seen == [("user@example.com", "Hello", "hi", "abc")]


@pytest.mark.parametrize("codec", ["pickle", "pickle_compat"])
def test_sqs_workers_pickle_goes_to_the_dlq_unread(sqs_local: LocalSqs, sqs_queue: QueuePair, codec: str) -> None:
    _env, queue = workers_queue(sqs_local, sqs_queue, codec)
    queue.connect_processor("send_email", lambda to: None).delay(to="x")
    ran: list[str] = []
    for accept in (["sqs_lambda", "sqs_workers"], ["sqs_lambda"]):
        router = Router(accept=accept)  # type: ignore[arg-type]
        router.job("send_email")(lambda to: ran.append(to))
        deliver_all(sqs_local, router, sqs_queue)
        if sqs_local.total(sqs_queue.dlq_url):
            break
    assert ran == []
    (reason,) = dlq_reasons(sqs_local, sqs_queue)
    assert reason["error_type"] == "PickleRejectedError" and "never unpickled" in reason["error_message"]


def test_default_router_rejects_sqs_workers_pickle_as_pickle(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    _env, queue = workers_queue(sqs_local, sqs_queue, "pickle_compat")
    queue.connect_processor("job", lambda n: None).delay(n=1)
    deliver_all(sqs_local, Router(), sqs_queue)
    (reason,) = dlq_reasons(sqs_local, sqs_queue)
    assert reason["error_type"] == "PickleRejectedError"


# -- Celery (kombu's SQS transport, protocol 2) ---------------------------------------------------------


def celery_app(sqs_local: LocalSqs, queue: QueuePair, serializer: str = "json") -> Any:
    from celery import Celery

    port = sqs_local.url.rsplit(":", 1)[1]
    app = Celery("proj", broker=f"sqs://testing:testing@127.0.0.1:{port}")
    app.conf.broker_transport_options = {
        "region": "us-east-1",
        "is_secure": False,
        "predefined_queues": {
            queue.name: {"url": queue.url, "access_key_id": "testing", "secret_access_key": "testing"}
        },
    }
    app.conf.task_default_queue = queue.name
    app.conf.task_serializer = serializer
    app.conf.accept_content = ["json", "pickle"]
    return app


def test_celery_tasks_are_consumed_with_positional_args(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    app = celery_app(sqs_local, sqs_queue)

    def add(x: int, y: int, z: int = 0) -> int:
        return x + y + z

    result = app.task(name="proj.tasks.add")(add).apply_async((2, 3), {"z": 4})
    router = Router(accept=["sqs_lambda", "celery"], aliases={"proj.tasks.add": "add"})
    seen: list[Any] = []

    @router.job("add")
    def add_job(x: int, y: int, z: int = 0, context: dict[str, Any] | None = None) -> None:
        seen.append((x, y, z, (context or {}).get("correlation_id")))

    deliver_all(sqs_local, router, sqs_queue)
    assert seen == [(2, 3, 4, result.id)]


def test_celery_eta_is_honoured_and_expired_tasks_go_to_the_dlq(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    import datetime as dt

    app = celery_app(sqs_local, sqs_queue)

    def ping_task() -> None: ...

    ping = app.task(name="ping")(ping_task)
    ping.apply_async(countdown=3)
    ping.apply_async(expires=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5))
    router = Router(accept=["sqs_lambda", "celery"])
    ran: list[float] = []
    started = time.monotonic()
    router.job("ping")(lambda: ran.append(time.monotonic() - started))
    deadline = time.monotonic() + 20
    while not ran and time.monotonic() < deadline:
        sqs_local.deliver(router, sqs_queue, wait=1)
    assert len(ran) == 1 and ran[0] >= 2.5  # not before its eta: deferred, then run once
    (reason,) = dlq_reasons(sqs_local, sqs_queue)
    assert reason["error_type"] == "Reject" and "expired" in reason["error_message"]


def test_celery_pickle_goes_to_the_dlq(sqs_local: LocalSqs, sqs_queue: QueuePair) -> None:
    app = celery_app(sqs_local, sqs_queue, serializer="pickle")

    def ping_task() -> None: ...

    app.task(name="ping")(ping_task).apply_async()
    router = Router(accept=["sqs_lambda", "celery"])
    router.job("ping")(lambda: None)
    deliver_all(sqs_local, router, sqs_queue)
    (reason,) = dlq_reasons(sqs_local, sqs_queue)
    assert reason["error_type"] == "PickleRejectedError" and "application/x-python-serialize" in reason["error_message"]


# -- django-eb-sqs ----------------------------------------------------------------------------------------


@pytest.fixture
def eb_sqs_task(sqs_local: LocalSqs, django_project: Any) -> Any:
    from eb_sqs.decorators import task

    return task


def test_django_eb_sqs_dotted_paths_map_through_aliases(
    sqs_local: LocalSqs, sqs_queue: QueuePair, eb_sqs_task: Any
) -> None:
    def echo(message: str, n: int = 1) -> None: ...

    echo.__module__ = "mytasks"
    eb_sqs_task(queue_name=sqs_queue.name)(echo).delay("Hello World!", n=2)  # type: ignore[attr-defined]

    def other() -> None: ...

    other.__module__ = "mytasks"
    eb_sqs_task(queue_name=sqs_queue.name)(other).delay()  # type: ignore[attr-defined]
    router = Router(accept=["sqs_lambda", "django_eb_sqs"], aliases={"mytasks.echo": "echo"})
    seen: list[Any] = []
    router.job("echo")(lambda message, n=1: seen.append((message, n)))
    deliver_all(sqs_local, router, sqs_queue)
    assert seen == [("Hello World!", 2)]
    (reason,) = dlq_reasons(sqs_local, sqs_queue)  # never imported: an unmapped path is an unknown job
    assert reason["error_type"] == "UnknownJobError" and "mytasks.other" in reason["error_message"]


def test_django_eb_sqs_pickle_goes_to_the_dlq(sqs_local: LocalSqs, sqs_queue: QueuePair, eb_sqs_task: Any) -> None:
    def echo(message: str) -> None: ...

    echo.__module__ = "mytasks"
    eb_sqs_task(queue_name=sqs_queue.name, use_pickle=True)(echo).delay("x")  # type: ignore[attr-defined]
    router = Router(accept=["sqs_lambda", "django_eb_sqs"], aliases={"mytasks.echo": "echo"})
    router.job("echo")(lambda message: None)
    deliver_all(sqs_local, router, sqs_queue)
    (reason,) = dlq_reasons(sqs_local, sqs_queue)
    assert reason["error_type"] == "PickleRejectedError"

"""Django's task API (``django.tasks`` on Django 6, the ``django_tasks`` backport before) on SQS and
Lambda: enqueue -> the embedded SQS engine -> the Lambda handler (or worker mode) -> ``get_result``."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sqs_lambda import Router
from sqs_lambda.consuming import backoff
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def mail(django_project: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]) -> Iterator[Any]:
    from djangoproject.mail import tasks

    for pair in task_queues.values():  # emptied by hand: SQS allows one purge a minute
        for url in (pair.url, pair.dlq_url):
            while messages := sqs_local.receive(url, wait=0):
                sqs_local.backend.delete(url, [m["ReceiptHandle"] for m in messages])
    tasks.calls.clear()
    yield tasks


@pytest.fixture
def router(mail: Any) -> Any:
    """The tasks' router, with immediate backoff so that retries come back at once."""
    from sqs_lambda.contrib.django.tasks.running import task_router

    return task_router(Router(default_backoff=backoff.immediate()))


def deliver_until(
    sqs_local: LocalSqs, handler: Callable[..., Any], pair: QueuePair, done: Callable[[], bool], seconds: float = 20
) -> list[Any]:
    deliveries = sqs_local.deliver_until(None, pair, done, seconds=seconds, handler=handler)
    assert done(), f"not done after {seconds} s: {deliveries}"
    return deliveries


def finished(task: Any, result_id: str) -> Callable[[], bool]:
    return lambda: task.get_result(result_id).is_finished


def test_enqueue_runs_in_lambda_and_get_result_answers_successful(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    from sqs_lambda.contrib.django.tasks import api

    heard: list[tuple[str, str]] = []

    def listen(name: str) -> Callable[..., None]:
        return lambda sender, task_result, **_: heard.append((name, task_result.status))

    receivers = {
        signal: listen(name)
        for name, signal in (
            ("enqueued", api.task_enqueued),
            ("started", api.task_started),
            ("finished", api.task_finished),
        )
    }
    for signal, receiver in receivers.items():
        signal.connect(receiver)
    try:
        result = mail.add.enqueue(2, b=3)
        assert result.status == api.TaskResultStatus.READY and result.args == [2] and result.kwargs == {"b": 3}
        (message,) = sqs_local.receive(task_queues["default"].url, wait=1, visibility_timeout=0)
        body = json.loads(message["Body"])
        assert body["id"] == result.id and body["job"] == "djangoproject.mail.tasks.add"
        assert body["kwargs"] == {"a": 2, "b": 3}  # arguments travel by name
        assert mail.add.get_result(result.id).status == api.TaskResultStatus.READY
        (_delivery,) = deliver_until(
            sqs_local, router.lambda_handler, task_queues["default"], finished(mail.add, result.id)
        )
        result.refresh()
        assert result.status == api.TaskResultStatus.SUCCESSFUL and result.return_value == 5
        assert result.attempts == 1 and len(result.worker_ids[0]) > 0 and result.errors == []
        assert result.enqueued_at <= result.started_at <= result.last_attempted_at <= result.finished_at
        assert heard == [("enqueued", "READY"), ("started", "RUNNING"), ("finished", "SUCCESSFUL")]
    finally:
        for signal, receiver in receivers.items():
            signal.disconnect(receiver)


def test_the_lambda_handler_runs_tasks_beside_the_projects_jobs(
    mail: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair], monkeypatch: pytest.MonkeyPatch
) -> None:
    import django.db

    from sqs_lambda.contrib.django.tasks import lambda_handler
    from sqs_lambda_testing import lambda_context, sqs_event

    result = mail.add.enqueue(20, 22)
    deliver_until(sqs_local, lambda_handler, task_queues["default"], finished(mail.add, result.id))
    assert mail.add.get_result(result.id).return_value == 42
    closed: list[int] = []
    monkeypatch.setattr(django.db, "close_old_connections", lambda: closed.append(1))
    assert lambda_handler(sqs_event(("note", {"text": "a router job"})), lambda_context()) == {"batchItemFailures": []}
    assert closed == [1, 1]  # before and after the batch


def test_an_async_task_through_aenqueue_and_aget_result(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    result = asyncio.run(mail.shout.aenqueue("hello"))
    deliver_until(sqs_local, router.lambda_handler, task_queues["default"], finished(mail.shout, result.id))
    fetched = asyncio.run(mail.shout.aget_result(result.id))
    assert fetched.status == "SUCCESSFUL" and fetched.return_value == "HELLO" and mail.calls == [("shout", "hello")]


def test_a_task_with_context_sees_its_attempt_and_its_retries_are_recorded(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    result = mail.attempt_number.enqueue(fail_until=2)
    deliveries = deliver_until(
        sqs_local, router.lambda_handler, task_queues["default"], finished(mail.attempt_number, result.id)
    )
    result.refresh()
    assert result.status == "SUCCESSFUL" and result.return_value == {"attempt": 2, "id": result.id}
    assert mail.calls == [("attempt_number", 1), ("attempt_number", 2)]
    assert result.attempts == 2 and len(set(result.worker_ids)) == 2  # one Lambda request id per attempt
    (error,) = result.errors
    assert error.exception_class_path == "builtins.ConnectionError" and "attempt 1 fails on purpose" in error.traceback
    assert [len(d.failed) for d in deliveries] == [1, 0]


def test_a_retry_leaves_the_task_ready_with_its_error(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    result = mail.attempt_number.enqueue(fail_until=5)
    sqs_local.deliver(None, task_queues["default"], handler=router.lambda_handler, wait=1)
    result.refresh()
    assert result.status == "READY" and result.attempts == 1 and len(result.errors) == 1
    assert result.finished_at is None


def test_a_failing_task_ends_failed_with_every_attempts_traceback_and_in_the_dlq(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    pair = task_queues["default"]
    result = mail.always_fails.enqueue("broken printer")
    deliver_until(sqs_local, router.lambda_handler, pair, finished(mail.always_fails, result.id))
    result.refresh()
    assert result.status == "FAILED" and result.attempts == 3  # max_retries 2: three attempts
    assert [e.exception_class_path for e in result.errors] == ["builtins.ValueError"] * 3
    assert all("broken printer" in e.traceback and "Traceback" in e.traceback for e in result.errors)
    assert result.finished_at is not None
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018  # Django's rule: a failed task has none
    (copy,) = sqs_local.receive(pair.dlq_url, wait=1, visibility_timeout=0)
    attributes = {name: value["StringValue"] for name, value in copy["MessageAttributes"].items()}
    assert json.loads(copy["Body"])["id"] == result.id
    assert (
        attributes["failure.error_type"] == "ValueError"
        and "gave up after 3 attempts" in attributes["failure.decision"]
    )


def test_a_return_value_that_is_not_json_fails_the_task_at_once(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    result = mail.returns_a_set.enqueue()
    deliver_until(sqs_local, router.lambda_handler, task_queues["default"], finished(mail.returns_a_set, result.id))
    result.refresh()
    assert result.status == "FAILED" and result.attempts == 1
    assert "its return value is not JSON" in result.errors[0].traceback


def test_a_task_deferred_beyond_15_minutes_runs_after_its_hops(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqs_lambda.consuming import batch as batch_module
    from sqs_lambda.consuming import effects
    from sqs_lambda.producing import producer as producer_module

    start = dt.datetime.now(dt.UTC)
    began = time.monotonic()
    # the clock moved forward: one real second is 1,000 seconds, and a hop waits at most one real second
    monkeypatch.setattr(batch_module, "_now", lambda: start + dt.timedelta(seconds=(time.monotonic() - began) * 1000))
    monkeypatch.setattr(effects, "MAX_HOP_DELAY", 1)
    monkeypatch.setattr(producer_module, "MAX_SQS_DELAY", 1)
    result = mail.add.using(run_after=start + dt.timedelta(hours=1)).enqueue(1, 1)
    (message,) = sqs_local.receive(task_queues["default"].url, wait=2, visibility_timeout=0)
    assert json.loads(message["Body"])["not_before"].startswith((start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H"))
    deliver_until(sqs_local, router.lambda_handler, task_queues["default"], finished(mail.add, result.id), seconds=30)
    assert time.monotonic() - began >= 3.5  # 3,600 virtual seconds
    assert mail.add.get_result(result.id).return_value == 2 and mail.calls == [("add", (1, 1))]


def test_only_registered_tasks_run_and_nothing_a_message_names_is_imported(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    pair = task_queues["default"]
    named = ["os.system", "django.core.management.call_command", "djangoproject.mail.forbidden.boom"]
    for job in named:
        body = {"sqs_lambda": 1, "job": job, "kwargs": {"command": "touch /tmp/owned"}}
        sqs_local.client.send_message(QueueUrl=pair.url, MessageBody=json.dumps(body))
    deliver_until(sqs_local, router.lambda_handler, pair, lambda: sqs_local.total(pair.dlq_url) == 3)
    assert "djangoproject.mail.forbidden" not in sys.modules  # on disk, importable, and never imported
    copies = sqs_local.receive(pair.dlq_url, wait=1, visibility_timeout=0)
    reasons = [m["MessageAttributes"]["failure.error_type"]["StringValue"] for m in copies]
    assert reasons == ["UnknownJobError"] * 3


def test_bad_calls_raise_at_enqueue_and_send_nothing(
    mail: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    from sqs_lambda.contrib.django.tasks import api
    from sqs_lambda.errors import JobArgumentError

    with pytest.raises(JobArgumentError, match=r"Expected `int`, got `str` - at `\$.b`"):
        mail.add.enqueue(1, b="two")  # type hints are checked
    with pytest.raises(JobArgumentError, match="missing a required argument"):
        mail.add.enqueue(1)
    with pytest.raises(TypeError):
        mail.add.enqueue(1, b=object())  # not JSON: Django's own rule
    with pytest.raises(api.InvalidTask, match="priority"):
        mail.add.using(priority=5)
    with pytest.raises(api.InvalidTask, match="not valid"):
        mail.add.using(queue_name="nowhere")
    assert sqs_local.total(task_queues["default"].url) == 0


def test_a_task_outside_a_tasks_module_is_refused_at_enqueue(mail: Any) -> None:
    from sqs_lambda.contrib.django.tasks import api

    from . import stray

    with pytest.raises(api.InvalidTask, match="not in a tasks module"):
        stray.stray.enqueue()


def test_results_in_the_database_and_keyword_arguments_on_another_queue(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    from sqs_lambda.contrib.django.models import TaskResultRecord

    stored = mail.add_in_database.enqueue(3, 4)
    assert TaskResultRecord.objects.get(pk=stored.id).status == "READY"
    deliver_until(sqs_local, router.lambda_handler, task_queues["default"], finished(mail.add_in_database, stored.id))
    assert mail.add_in_database.get_result(stored.id).return_value == 7
    email = mail.send_email.enqueue("ada@example.com", subject="Hi", reply_to="bob@example.com")
    deliver_until(sqs_local, router.lambda_handler, task_queues["emails"], finished(mail.send_email, email.id))
    assert mail.send_email.get_result(email.id).return_value == "sent to ada@example.com"
    assert mail.calls[-1] == ("send_email", ("ada@example.com", "Hi", {"reply_to": "bob@example.com"}))


def test_an_unknown_result_id_does_not_exist(mail: Any) -> None:
    from sqs_lambda.contrib.django.tasks import api

    with pytest.raises(api.TaskResultDoesNotExist):
        mail.add.get_result("0" * 32)


def test_a_backend_without_results_runs_tasks_and_sends_group_ids(
    mail: Any, router: Any, sqs_local: LocalSqs, task_queues: dict[str, QueuePair]
) -> None:
    from sqs_lambda import context

    assert not mail.tenant_note.get_backend().supports_get_result
    with context(tenant="acme"):
        mail.tenant_note.enqueue("noisy")
    (message,) = sqs_local.client.receive_message(
        QueueUrl=task_queues["default"].url, MessageSystemAttributeNames=["MessageGroupId"], VisibilityTimeout=0
    )["Messages"]
    assert message["Attributes"]["MessageGroupId"] == "acme"  # SQS fair queues: the tenant is the group
    delivery = sqs_local.deliver(None, task_queues["default"], handler=router.lambda_handler, wait=1)
    assert delivery is not None and delivery.failed == [] and delivery.dead_lettered == []


def test_worker_mode_runs_the_same_tasks(mail: Any, sqs_local: LocalSqs) -> None:
    from django.core.management import call_command

    result = mail.add.enqueue(5, 6)
    out = io.StringIO()
    call_command("sqs_worker", "--tasks", "default", "--wait", "1", "--shutdown", "idle:1", stdout=out)
    assert "1 succeeded" in out.getvalue()
    done = mail.add.get_result(result.id)
    assert done.return_value == 11 and done.worker_ids[0].count(":") == 2  # the worker's own id: host:pid:nonce


def test_system_checks_name_a_missing_queue_mapping_and_table(mail: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqs_lambda.contrib.django.tasks.backend import SQSLambdaBackend

    backend = SQSLambdaBackend(
        "broken", {"QUEUES": ["default", "reports"], "OPTIONS": {"queues": {"default": "tasks"}, "results": "dynamodb"}}
    )
    assert [m.id for m in backend.check()] == ["sqs_lambda.E001"]
    monkeypatch.setenv("SQS_LAMBDA_TASK_RESULTS_TABLE", "no-such-table")
    from sqs_lambda import settings

    settings.expire()
    messages = list(backend.check(deploy=True))
    assert [m.id for m in messages] == ["sqs_lambda.E001", "sqs_lambda.E003"]
    assert "'no-such-table' does not exist" in messages[1].msg
    monkeypatch.delenv("SQS_LAMBDA_TASK_RESULTS_TABLE")
    settings.expire()
    assert any("SQS_LAMBDA_TASK_RESULTS_TABLE" in m.msg for m in backend.check())


def test_the_api_in_use_is_djangos_own_from_django_6_and_the_backport_before(django_project: Any) -> None:
    import django

    from sqs_lambda.contrib.django.tasks import api

    assert ("django.tasks" if django.VERSION >= (6, 0) else "django_tasks") == api.SOURCE
    assert api.Task.__module__ == f"{api.SOURCE}.base"

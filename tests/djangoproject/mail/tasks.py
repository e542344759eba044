"""The mail app's tasks, written against Django's task API (``django.tasks`` or the backport)."""

from __future__ import annotations

from typing import Any

try:
    from django.tasks import task
except ImportError:  # Django < 6: the backport
    from django_tasks import task  # type: ignore[no-redef]

calls: list[tuple[str, Any]] = []


@task
def add(a: int, b: int) -> int:
    calls.append(("add", (a, b)))
    return a + b


@task
async def shout(text: str) -> str:
    calls.append(("shout", text))
    return text.upper()


@task(takes_context=True)
def attempt_number(context: Any, fail_until: int = 0) -> dict[str, Any]:
    calls.append(("attempt_number", context.attempt))
    if context.attempt < fail_until:
        raise ConnectionError(f"attempt {context.attempt} fails on purpose")
    return {"attempt": context.attempt, "id": context.task_result.id}


@task
def always_fails(reason: str) -> None:
    calls.append(("always_fails", reason))
    raise ValueError(reason)


@task(queue_name="emails")
def send_email(to: str, subject: str = "", **headers: str) -> str:
    calls.append(("send_email", (to, subject, headers)))
    return f"sent to {to}"


@task
def returns_a_set() -> Any:
    return {1, 2}


@task(backend="database")
def add_in_database(a: int, b: int) -> int:
    return a + b


@task(backend="tenants")
def tenant_note(text: str) -> str:
    return text

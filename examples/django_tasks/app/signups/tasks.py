"""The signups app's tasks: Django's task API, run by the template's TasksFunction."""

from __future__ import annotations

try:
    from django.tasks import task
except ImportError:  # Django < 6: the backport
    from django_tasks import task  # type: ignore[no-redef]


@task
def send_welcome(email: str, name: str = "") -> str:
    """Pretend to send an email; an address without "@" fails (to the DLQ after its retries, FAILED)."""
    if "@" not in email:
        raise ValueError(f"not an email address: {email!r}")
    print(f"welcome mail to {email}")
    return f"welcomed {name or email}"

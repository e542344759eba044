"""Django integration: ``INSTALLED_APPS += ["sqs_lambda.contrib.django"]``.

- **Settings**: ``SQS_LAMBDA = {"ROUTER": "myapp.jobs:router", "QUEUE": "jobs", "STAGE": "dev",
  "ENDPOINT_URL": None, "REGION": None}``. When Django starts, the router's jobs are bound to that
  queue (``<STAGE>-<QUEUE>``, the counterpart of django-sqs's ``SQS_QUEUE_PREFIX``), so ``job.delay()``
  and ``job.delay_on_commit()`` send there.
- **Sending after commit**: ``job.delay_on_commit(...)`` (on every job; see :class:`sqs_lambda.jobs.Job`).
- **Model instances as arguments**: a parameter typed with a model class travels as its primary key and
  is fetched again before the job runs; a missing row is a ``Reject`` naming the model and the key.
- **Management commands**: ``sqs_worker``, ``sqs_status``, ``sqs_purge``, ``sqs_wait``.
- **Django's task framework** (``django.tasks``, or the ``django_tasks`` backport): see
  :mod:`sqs_lambda.contrib.django.tasks`.
- **In Lambda**: :func:`lambda_handler` runs ``django.setup()`` once per container and
  ``close_old_connections()`` before and after each batch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .conf import Settings, configure_router, settings

__all__ = ["Settings", "configure_router", "lambda_handler", "settings"]


def lambda_handler(router: Any = None, *, make_router: Callable[[], Any] | None = None) -> Any:
    """A Lambda handler for a Django project's router (default: ``SQS_LAMBDA["ROUTER"]``).

    ``make_router`` builds the router once Django is set up, instead (the ``django.tasks`` handler's).
    ``DJANGO_SETTINGS_MODULE`` must be set (the template's environment). ``django.setup()`` runs on the
    first invocation of each container; each batch is wrapped in ``close_old_connections()``, as
    long-lived Lambda containers need (a connection may have timed out between invocations)."""
    state: dict[str, Any] = {"router": router}

    def handler(event: Any, context: Any) -> Any:
        import django
        from django.apps import apps
        from django.db import close_old_connections

        if not apps.ready:
            django.setup()
        if state["router"] is None:
            state["router"] = make_router() if make_router is not None else settings().router()
        close_old_connections()
        try:
            return state["router"].lambda_handler(event, context)
        finally:
            close_old_connections()

    return handler

"""Django's own task framework on SQS and Lambda: ``django.tasks`` (Django >= 6.0) or the ``django_tasks``
backport (Django 4.2-5.2), one code base.

- :class:`SQSLambdaBackend` (``TASKS["default"]["BACKEND"] = "sqs_lambda.contrib.django.tasks.SQSLambdaBackend"``)
  sends tasks through the project's producer and keeps their results (:mod:`.backend`, :mod:`.results`).
- :func:`lambda_handler` runs them in an SQS-triggered Lambda through the project's router, and
  ``manage.py sqs_worker --tasks NAME`` in worker mode (:mod:`.running`).

Nothing here is imported until used: the Lambda handler imports Django once per container.
"""

from __future__ import annotations

from typing import Any

__all__ = ["SQSLambdaBackend", "lambda_handler"]

_handler: Any = None


def lambda_handler(event: Any, context: Any) -> Any:
    """The Lambda handler (``Handler: sqs_lambda.contrib.django.tasks.lambda_handler``): Django set up
    once per container, the known tasks (and ``SQS_LAMBDA["ROUTER"]``'s jobs, when set) run through one
    router, ``close_old_connections()`` around each batch."""
    global _handler
    if _handler is None:
        from .. import lambda_handler as django_handler
        from .running import task_router

        _handler = django_handler(make_router=task_router)
    return _handler(event, context)


def __getattr__(name: str) -> Any:
    if name == "SQSLambdaBackend":  # Django imports the backend by this path
        from .backend import SQSLambdaBackend

        return SQSLambdaBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

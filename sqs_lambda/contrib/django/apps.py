"""The Django app: binds the configured router's jobs to the configured queue when Django starts."""

from __future__ import annotations

from django.apps import AppConfig


class SqsLambdaConfig(AppConfig):
    name = "sqs_lambda.contrib.django"
    label = "sqs_lambda"
    verbose_name = "sqs-lambda"

    def ready(self) -> None:
        from .conf import configure_router, settings

        configured = settings()
        if configured.router_path and configured.queue:
            configure_router(configured.router(), configured)

"""``manage.py sqs_worker``: the configured router as a long-running poller (see sqs_lambda.worker)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Poll the SQS_LAMBDA queue and run its jobs through the router (worker mode)."

    def add_arguments(self, parser: Any) -> None:
        from sqs_lambda.worker import add_arguments

        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from sqs_lambda.contrib.django.conf import settings
        from sqs_lambda.worker import Worker, options_from

        configured = settings()
        worker = Worker(
            configured.router(), configured.queue_url(), backend=configured.backend(), **options_from(options)
        )
        worker.run()
        self.stdout.write(f"handled {worker.handled}: {worker.succeeded} succeeded, {worker.failed} failed")

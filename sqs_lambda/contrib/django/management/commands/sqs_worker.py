"""``manage.py sqs_worker``: the configured router as a long-running poller (see sqs_lambda.worker)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Poll the SQS_LAMBDA queue and run its jobs through the router (worker mode)."

    def add_arguments(self, parser: Any) -> None:
        from .....worker import add_arguments

        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from .....worker import Worker, options_from
        from ...conf import settings

        configured = settings()
        worker = Worker(
            configured.router(), configured.queue_url(), backend=configured.backend(), **options_from(options)
        )
        worker.run()
        self.stdout.write(f"handled {worker.handled}: {worker.succeeded} succeeded, {worker.failed} failed")

"""``manage.py sqs_worker``: the configured router as a long-running poller (see sqs_lambda.worker)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Poll the SQS_LAMBDA queue and run its jobs through the router (worker mode)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--concurrency", type=int, default=1)
        parser.add_argument("--batch-size", type=int, default=10)
        parser.add_argument("--wait", type=int, default=20)
        parser.add_argument("--shutdown", default="never", help="never, idle:SECONDS or after:N")
        parser.add_argument("--grace", type=float, default=30.0)
        parser.add_argument("--health-port", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        from sqs_lambda.contrib.django.conf import settings
        from sqs_lambda.worker import Shutdown, Worker

        configured = settings()
        worker = Worker(
            configured.router(),
            configured.queue_url(),
            backend=configured.backend(),
            concurrency=options["concurrency"],
            batch_size=options["batch_size"],
            wait=options["wait"],
            shutdown=Shutdown.parse(options["shutdown"]),
            grace=options["grace"],
            health_port=options["health_port"],
        )
        worker.run()
        self.stdout.write(f"handled {worker.handled}: {worker.succeeded} succeeded, {worker.failed} failed")

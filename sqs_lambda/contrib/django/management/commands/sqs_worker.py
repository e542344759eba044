"""``manage.py sqs_worker``: the configured router as a long-running poller (see sqs_lambda.worker);
``--tasks NAME`` runs the ``django.tasks`` of that task queue instead (its SQS queue from ``TASKS``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Poll the SQS_LAMBDA queue (or a django.tasks queue) and run its jobs through the router (worker mode)."

    def add_arguments(self, parser: Any) -> None:
        from .....worker import add_arguments

        parser.add_argument("--tasks", metavar="QUEUE_NAME", default=None, help="run this django.tasks queue's tasks")
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        from .....worker import Worker, options_from
        from ...conf import settings

        if options["tasks"]:
            router, queue_url, backend = self.tasks_target(options["tasks"])
        else:
            configured = settings()
            router, queue_url, backend = configured.router(), configured.queue_url(), configured.backend()
        worker = Worker(router, queue_url, backend=backend, **options_from(options))
        worker.run()
        self.stdout.write(f"handled {worker.handled}: {worker.succeeded} succeeded, {worker.failed} failed")

    @staticmethod
    def tasks_target(queue_name: str) -> tuple[Any, str, Any]:
        from .....aws.sqs import AwsSqs
        from ...tasks.api import task_backends
        from ...tasks.backend import SQSLambdaBackend
        from ...tasks.running import task_router

        for candidate in task_backends.all():
            if isinstance(candidate, SQSLambdaBackend) and queue_name in candidate.queue_map:
                port = AwsSqs(config=candidate.aws)
                return task_router(), candidate.producer(queue_name).queue_url, port
        raise CommandError(f"no SQSLambdaBackend in TASKS maps the task queue {queue_name!r} to an SQS queue")

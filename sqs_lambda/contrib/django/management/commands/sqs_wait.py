"""``manage.py sqs_wait``: wait until the queue is empty (exit 1 on timeout), as django-sqs's."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Wait until the SQS_LAMBDA queue is empty (visible, in flight and delayed)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=300.0)
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        import time

        from ...conf import settings

        configured = settings()
        backend, url = configured.backend(), configured.queue_url()
        deadline = time.monotonic() + options["timeout"]
        while backend.counts(url).total:
            if time.monotonic() >= deadline:
                raise CommandError(f"{configured.queue_name} is not empty after {options['timeout']:g}s")
            time.sleep(options["interval"])
        self.stdout.write(f"{configured.queue_name} is empty")

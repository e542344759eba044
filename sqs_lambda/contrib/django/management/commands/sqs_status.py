"""``manage.py sqs_status``: visible, in flight and delayed messages of the queue and its DLQ."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Show the SQS_LAMBDA queue's counts (and its DLQ's)."

    def handle(self, *args: Any, **options: Any) -> None:
        from ...conf import settings

        configured = settings()
        backend = configured.backend()
        info = backend.queue_info(url=configured.queue_url())
        queues = [info] + ([backend.queue_info(arn=info.dlq_arn)] if info.dlq_arn else [])
        for queue in queues:
            counts = backend.counts(queue.url)
            self.stdout.write(
                f"{queue.name}: {counts.visible} visible, {counts.in_flight} in flight, {counts.delayed} delayed"
            )

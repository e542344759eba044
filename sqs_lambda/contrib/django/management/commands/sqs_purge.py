"""``manage.py sqs_purge``: delete every message of the queue (django-sqs's ``sqs_clear``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Delete every message in the SQS_LAMBDA queue (asks first unless --yes)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--yes", action="store_true", help="Do not ask.")

    def handle(self, *args: Any, **options: Any) -> None:
        from ...conf import settings

        configured = settings()
        url = configured.queue_url()
        if not options["yes"]:
            try:
                answer = input(f"Purge every message of {configured.queue_name}? [y/N] ")
            except EOFError:  # stdin closed: nobody can answer
                raise CommandError("not purged: nobody answered (stdin is closed); pass --yes") from None
            if answer.strip().lower() != "y":
                raise CommandError("not purged: nothing was deleted")
        configured.backend().purge(url)
        self.stdout.write(f"purged {configured.queue_name}")

"""EventBridge scheduled rules that target queues, run on this machine.

A rule fires on its ``rate(...)`` or ``cron(...)`` expression and sends exactly what EventBridge
would: the target's ``Input`` verbatim, or else the full Scheduled Event envelope. FIFO targets use
``SqsParameters.MessageGroupId``. AWS cron (six fields: minutes hours day-of-month month day-of-week
year, with ``?``, ``L``, ``W`` and ``#``) is evaluated by ``aws-croniter``, a parser made for AWS's
syntax; rates are plain intervals.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqs_lambda import codec
from sqs_lambda.sqs import SqsBackend

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


class Schedule:
    """When a schedule expression fires next (UTC)."""

    def __init__(self, expression: str) -> None:
        self.expression = expression.strip()
        rate = _RATE.match(self.expression)
        self.interval: float | None = None
        self.cron: Any = None
        if rate:
            self.interval = float(int(rate.group(1)) * _UNIT[rate.group(2)])
        elif self.expression.startswith("cron(") and self.expression.endswith(")"):
            from aws_croniter import AwsCroniter

            try:
                self.cron = AwsCroniter(self.expression[5:-1])
            except Exception as error:  # the library's own message says what is wrong
                raise ValueError(f"{expression}: {error}") from None
        else:
            raise ValueError(f"unsupported schedule expression {expression!r}")

    def next_after(self, moment: dt.datetime) -> dt.datetime | None:
        """The first firing strictly after ``moment``; None when it never fires again (a past year)."""
        if self.interval is not None:
            return moment + dt.timedelta(seconds=self.interval)
        upcoming = self.cron.get_next(moment.astimezone(dt.UTC))
        return upcoming[0] if upcoming else None


@dataclass
class ScheduledTarget:
    rule: str
    rule_arn: str
    schedule: Schedule
    queue_url: str
    input: str | None = None
    group_id: str | None = None
    region: str = "us-east-1"
    account: str = "123456789012"
    fired: int = 0
    next_at: dt.datetime | None = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def body(self, now: dt.datetime) -> str:
        if self.input is not None:
            return self.input
        return codec.dumps(
            {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": self.account,
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": self.region,
                "resources": [self.rule_arn],
                "detail": {},
            }
        )

    def fire(self, backend: SqsBackend, now: dt.datetime) -> str:
        fifo = self.queue_url.endswith(".fifo")
        message_id = backend.send(
            self.queue_url,
            self.body(now),
            group_id=(self.group_id or self.rule) if fifo else None,
            dedup_id=uuid.uuid4().hex if fifo else None,
        )
        self.fired += 1
        return message_id

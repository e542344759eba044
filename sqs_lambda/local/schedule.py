"""EventBridge scheduled rules that target queues, run on this machine.

A rule fires on its ``rate(...)`` or ``cron(...)`` expression and sends exactly what EventBridge
would: the target's ``Input`` verbatim, or else the full Scheduled Event envelope. FIFO targets use
``SqsParameters.MessageGroupId``. AWS cron has six fields (minutes hours day-of-month month
day-of-week year, with ``?``); it is evaluated with croniter after mapping AWS's 1-7 weekdays.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from .. import envelope as wire

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_UNIT = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def _aws_weekdays(field_text: str) -> str:
    """AWS numbers weekdays 1-7 from Sunday; cron numbers them 0-6."""
    return re.sub(r"\d+", lambda m: str((int(m.group()) - 1) % 7), field_text)


class Schedule:
    """When a schedule expression fires next."""

    def __init__(self, expression: str) -> None:
        self.expression = expression.strip()
        rate = _RATE.match(self.expression)
        self.interval: float | None = None
        self.cron: str | None = None
        if rate:
            self.interval = float(int(rate.group(1)) * _UNIT[rate.group(2)])
        elif self.expression.startswith("cron(") and self.expression.endswith(")"):
            fields = self.expression[5:-1].split()
            if len(fields) != 6:
                raise ValueError(f"{expression}: AWS cron takes 6 fields")
            minute, hour, day, month, weekday, _year = fields
            self.cron = " ".join([minute, hour, day.replace("?", "*"), month, _aws_weekdays(weekday.replace("?", "*"))])
        else:
            raise ValueError(f"unsupported schedule expression {expression!r}")

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        if self.interval is not None:
            return moment + dt.timedelta(seconds=self.interval)
        from croniter import croniter

        return croniter(self.cron, moment).get_next(dt.datetime)


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
    next_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    def body(self, now: dt.datetime) -> str:
        if self.input is not None:
            return self.input
        return wire.dumps(
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

    def fire(self, sqs: Any, now: dt.datetime) -> str:
        arguments: dict[str, Any] = {"QueueUrl": self.queue_url, "MessageBody": self.body(now)}
        if self.queue_url.endswith(".fifo"):
            arguments["MessageGroupId"] = self.group_id or self.rule
            arguments["MessageDeduplicationId"] = uuid.uuid4().hex
        self.fired += 1
        return str(sqs.send_message(**arguments)["MessageId"])

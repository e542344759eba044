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
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqs_lambda.aws.sqs import SqsBackend
from sqs_lambda.wire import codec

if TYPE_CHECKING:
    from sqs_lambda_dev.local.sources import SourceSetup

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


class ScheduleSource:
    """The template's scheduled rules whose targets are queues: each fires at its times (with
    ``--fire-schedules``, once more at start), sending what EventBridge would."""

    serves_at_start = False

    def __init__(self, targets: list[ScheduledTarget], setup: SourceSetup) -> None:
        self.targets, self.backend, self.on_event = targets, setup.backend, setup.on_event
        self.clock, self.fire_at_start = setup.clock, setup.fire_schedules
        self._thread: threading.Thread | None = None

    @classmethod
    def from_template(cls, setup: SourceSetup) -> ScheduleSource | None:
        template, queue_urls = setup.template, setup.resources.queue_urls
        arns = {arn: logical for logical, arn in setup.resources.queue_arns.items()}
        targets = []
        for logical, resource in template.of_type("AWS::Events::Rule").items():
            properties = resource.get("Properties", {})
            expression = template.resolve(properties.get("ScheduleExpression"))
            if not expression or str(template.resolve(properties.get("State", "ENABLED"))) == "DISABLED":
                continue
            for target in properties.get("Targets", []) or []:
                queue = template.logical_id_of(target.get("Arn")) or arns.get(str(template.resolve(target.get("Arn"))))
                if queue not in queue_urls:
                    continue
                targets.append(
                    ScheduledTarget(
                        rule=template.physical_name(logical) or logical,
                        rule_arn=str(template.attribute(logical, "Arn")),
                        schedule=Schedule(str(expression)),
                        queue_url=queue_urls[queue],
                        input=template.resolve(target.get("Input")),
                        group_id=(template.resolve(target.get("SqsParameters")) or {}).get("MessageGroupId"),
                        region=template.region,
                    )
                )
        return cls(targets, setup) if targets else None

    def start(self, stop: threading.Event) -> None:
        self._thread = threading.Thread(target=self._loop, args=(stop,), daemon=True, name="schedules")
        self._thread.start()

    def _fire(self, target: ScheduledTarget, at: dt.datetime) -> None:
        try:
            target.fire(self.backend, at)  # the event's time is the scheduled time
            self.on_event("schedule", {"rule": target.rule, "fired": target.fired})
        except Exception as error:
            self.on_event("error", {"rule": target.rule, "error": str(error)})

    def _loop(self, stop: threading.Event) -> None:
        now = self.clock()
        for target in self.targets:
            if self.fire_at_start:
                self._fire(target, now)
            target.next_at = target.schedule.next_after(now)
        while not stop.wait(0.2):
            now = self.clock()
            for target in self.targets:
                if target.next_at is not None and now >= target.next_at:
                    self._fire(target, target.next_at)
                    target.next_at = target.schedule.next_after(max(now, target.next_at))

    def busy(self) -> bool:
        return False  # a firing is one send; the queue's trigger does the invoking

    def stats(self) -> dict[str, Any]:
        return {target.rule: {"fired": target.fired} for target in self.targets}

    def stop(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout=timeout)

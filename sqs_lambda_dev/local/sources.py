"""Event sources: what invokes the local functions, one module each.

An :class:`EventSource` is built from the template (``from_template(setup)``, beside its code, reading
its own part), started, asked whether it is busy and what it did, and stopped. The runtime loops over
:data:`SOURCES`; S3 notifications or SNS would be one more module and one more line there.

- :mod:`.trigger`: Lambda's SQS event source mappings (pollers);
- :mod:`.schedule`: EventBridge scheduled rules that target queues;
- :mod:`.http`: HttpApi/Api events, served on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sqs_lambda.aws.sqs import SqsBackend

if TYPE_CHECKING:
    from sqs_lambda_dev.local.chaos import Chaos
    from sqs_lambda_dev.local.environments import FunctionPool
    from sqs_lambda_dev.local.ledger import Ledger
    from sqs_lambda_dev.local.resources import LocalResources
    from sqs_lambda_dev.validate.template import Template

OnEvent = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class SourceSetup:
    """What a source is built from: the template, the resources made for it, the functions (by logical
    id), the SQS port, where to report, and the runtime's options that concern sources."""

    template: Template
    resources: LocalResources
    functions: Mapping[str, FunctionPool]
    backend: SqsBackend
    on_event: OnEvent
    clock: Callable[[], dt.datetime]
    fire_schedules: bool = False
    chaos: Chaos | None = None  # faults injected on purpose (--chaos)
    ledger: Ledger | None = None  # what the triggers saw of each job (with --chaos)


class EventSource(Protocol):
    """One kind of event that invokes local functions.

    ``serves_at_start``: started with the runtime, because callers reach it (the HTTP API, which the
    demo calls before anything polls); the others start with the runtime's background work."""

    serves_at_start: bool

    def start(self, stop: threading.Event) -> None:
        """Begin, in threads of its own, until ``stop`` is set."""

    def busy(self) -> bool:
        """An invocation it started is under way."""

    def stats(self) -> dict[str, Any]:
        """What it has done so far (JSON-able)."""

    def stop(self, timeout: float) -> None:
        """Stop (``stop`` is already set): wait up to ``timeout`` for its invocations, free its ports."""


def build_sources(setup: SourceSetup) -> list[EventSource]:
    """Every source the template has (a source with nothing to do is left out)."""
    from sqs_lambda_dev.local.http import HttpApiSource
    from sqs_lambda_dev.local.schedule import ScheduleSource
    from sqs_lambda_dev.local.trigger import SqsSource

    built = (kind.from_template(setup) for kind in (SqsSource, ScheduleSource, HttpApiSource))
    return [source for source in built if source is not None]

"""How the local runtime's event sources (SQS triggers, the HTTP API) invoke a function.

A :class:`Function` takes an event and returns an :class:`Outcome`: the response, or why the
invocation failed (an error the function raised, an init error, a crash, a timeout). The local
runtime's functions are :class:`~.environments.FunctionPool` (execution environments, as in Lambda);
:class:`InProcessFunction` calls a handler in this process, for the test kit and the CLI commands that
drive a handler they imported themselves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sqs_lambda_dev.events import LambdaContext

Handler = Callable[[dict[str, Any], Any], Any]


@dataclass
class Outcome:
    """What one invocation came to. ``error`` is empty when the function returned ``response``."""

    response: Any = None
    error: str = ""
    timed_out: bool = False
    duration_ms: float = 0.0
    request_id: str = ""  # empty when no environment took the invocation (an init error)

    @property
    def failed(self) -> bool:
        return bool(self.error) or self.timed_out


class Function(Protocol):
    name: str
    timeout: float

    def invoke(self, event: dict[str, Any]) -> Outcome: ...
    def kill_busy(self) -> bool: ...  # kill what runs an invocation now (chaos); False if nothing can be


class InProcessFunction:
    """``handler(event, context)`` called in a thread of this process, abandoned after ``timeout``
    (a thread cannot be stopped: what it does afterwards still happens, unlike in Lambda)."""

    def __init__(self, handler: Handler, *, timeout: float = 30.0, name: str = "function") -> None:
        self.handler, self.timeout, self.name = handler, timeout, name

    def kill_busy(self) -> bool:
        return False  # a thread cannot be killed

    def invoke(self, event: dict[str, Any]) -> Outcome:
        context = LambdaContext(remaining_ms=int(self.timeout * 1000), function_name=self.name)
        outcome = Outcome()

        def run() -> None:
            try:
                outcome.response = self.handler(event, context)
            except BaseException as error:  # the function crashed: Lambda fails the invocation
                outcome.error = f"{type(error).__name__}: {error}"

        started = time.perf_counter()
        worker = threading.Thread(target=run, daemon=True, name=f"invoke-{self.name}")
        worker.start()
        worker.join(self.timeout)
        outcome.duration_ms = (time.perf_counter() - started) * 1000
        if worker.is_alive():
            outcome.timed_out = True
        return outcome

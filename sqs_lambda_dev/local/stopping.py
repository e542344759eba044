"""How ``sqs-lambda local`` stops: on a signal, or when nobody reads its output any more.

Contract:
- The first SIGINT (Ctrl-C), SIGTERM or SIGHUP asks the runtime to stop: no more polls, invocations
  under way finish and print their END/REPORT lines, then the summary, then everything is cleaned up
  (environments, the engine, the state file) and the command exits 0.
- A second one forces the stop: running environments are killed (their batches return to their
  queues after the visibility timeout, as after a Lambda crash) and the command exits 130.
- The runtime's children run in sessions of their own, so a terminal's Ctrl-C, sent to the whole
  foreground process group, reaches the runtime only: it is the runtime that stops them, in order.
- A closed stdout (``sqs-lambda local | head -3``) is a stop request too: output goes to /dev/null from
  then on, and nothing is left running.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any, Protocol

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
FORCED_EXIT_CODE = 130


class Stoppable(Protocol):
    def request_stop(self) -> None: ...
    def force_stop(self) -> None: ...


class StopSignals:
    """Signal handlers for a :class:`Stoppable` runtime (see the module docstring)."""

    def __init__(self, runtime: Stoppable, notify: Callable[[str], None]) -> None:
        self.runtime = runtime
        self.notify = notify
        self.requested = threading.Event()  # by a signal (a closed stdout is not counted here)
        self.forced = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for stop_signal in STOP_SIGNALS:
            self._previous[stop_signal] = signal.signal(stop_signal, self._on_signal)

    def restore(self) -> None:
        for stop_signal, handler in self._previous.items():
            signal.signal(stop_signal, handler)
        self._previous = {}

    def _on_signal(self, signum: int, frame: Any) -> None:
        if not self.requested.is_set():
            self.requested.set()
            self.runtime.request_stop()
            return
        if not self.forced:
            self.forced = True
            self.notify("forced stop: killing the running environments")
            self.runtime.force_stop()


def silence_stdout() -> None:
    """Point stdout at /dev/null (its reader is gone), so later writes and the exit flush never fail."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)

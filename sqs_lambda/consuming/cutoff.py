"""The time cut-off: when a batch stops starting records, so that its invocation never times out.

Contract:
- The margin is fixed when the batch starts: ``time_margin_ms``, but never more than
  :data:`MARGIN_SHARE` of the time remaining then. A 3 s function (Lambda's default) with the default
  3,000 ms margin therefore keeps ~750 ms back, instead of keeping back more than it has and running
  nothing.
- The first record of a batch always starts: a batch is never cut off before doing any work.
- A stopping worker (its context says ``stopping``) starts nothing: its records go back at once.
- A context without a working clock never cuts off.
"""

from __future__ import annotations

from typing import Any

MARGIN_SHARE = 0.25  # at most this share of the time the batch starts with is kept back


def effective_margin_ms(configured_ms: int, remaining_at_start_ms: int) -> int:
    """The margin a batch keeps back: ``configured_ms``, capped at :data:`MARGIN_SHARE` of what remains
    when it starts (never negative)."""
    return max(0, min(configured_ms, int(remaining_at_start_ms * MARGIN_SHARE)))


def remaining_ms(context: Any) -> int | None:
    """The context's remaining time, or None when it has no working clock."""
    try:
        return int(context.get_remaining_time_in_millis())
    except Exception:
        return None


class TimeCutoff:
    """Decides, before each record, whether it may start (see the module docstring)."""

    __slots__ = ("configured_ms", "context", "cut", "margin_ms", "start_ms", "started")

    def __init__(self, context: Any, configured_ms: int) -> None:
        self.context = context
        self.configured_ms = configured_ms
        self.start_ms = remaining_ms(context) if context is not None else None
        self.margin_ms = effective_margin_ms(configured_ms, self.start_ms) if self.start_ms is not None else 0
        self.started = 0  # records this batch has started
        self.cut = 0  # records it has not started for lack of time

    @property
    def stopping(self) -> bool:
        """The context asks for records to go back (a worker on its way out)."""
        return bool(getattr(self.context, "stopping", False))

    def may_start(self) -> bool:
        """True when the next record may start; counts it as started."""
        if self.context is None:
            self.started += 1
            return True
        if self.stopping:
            return False
        if self.started and self.start_ms is not None:
            left = remaining_ms(self.context)
            if left is not None and left < self.margin_ms:
                return False
        self.started += 1
        return True

    def summary(self) -> dict[str, Any]:
        """The numbers a cut-off is logged with."""
        return {
            "not_started": self.cut,
            "started": self.started,
            "remaining_ms": remaining_ms(self.context),
            "margin_ms": self.margin_ms,
            "time_margin_ms": self.configured_ms,
            "remaining_at_start_ms": self.start_ms,
        }

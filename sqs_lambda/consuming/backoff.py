"""Backoff policies: small frozen values (dataclasses) that map an attempt number to a delay in seconds.

A policy is any callable ``(attempt: int) -> int``; ``attempt`` is 1 on the first delivery (SQS's
``ApproximateReceiveCount``). The delay becomes the failed message's next visibility timeout, so the
result is clamped to SQS's 0-43,200 s range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

MAX_VISIBILITY = 43_200

BackoffPolicy = Callable[[int], int]


def _clamp(seconds: float) -> int:
    return max(0, min(MAX_VISIBILITY, round(seconds)))


@dataclass(frozen=True, slots=True)
class Exponential:
    """``min * base ** (attempt - 1)``, capped at ``max``, with +/- ``jitter`` (a fraction) of noise."""

    base: float = 2.0
    min: float = 1.0
    max: float = 900.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.base < 1 or self.min < 0 or self.max < self.min or not 0 <= self.jitter < 1:
            raise ValueError(
                f"invalid exponential backoff (base={self.base}, min={self.min}, max={self.max}, jitter={self.jitter})"
            )

    def __call__(self, attempt: int) -> int:
        exponent = _builtin_min(_builtin_max(attempt, 1) - 1, 64)  # base ** 64 is past any cap
        delay = _builtin_min(self.max, self.min * self.base**exponent)
        if self.jitter:
            import random  # lazy: only failures pay for it

            delay *= 1 + random.uniform(-self.jitter, self.jitter)
        return _clamp(_builtin_min(delay, self.max))


@dataclass(frozen=True, slots=True)
class Constant:
    """The same delay after every failure."""

    seconds: int

    def __post_init__(self) -> None:
        if not 0 <= self.seconds <= MAX_VISIBILITY:
            raise ValueError(f"constant backoff must be 0-{MAX_VISIBILITY} seconds, got {self.seconds}")

    def __call__(self, attempt: int) -> int:
        return self.seconds


@dataclass(frozen=True, slots=True)
class Immediate:
    """Visible again at once (visibility 0): retry as soon as a poller picks it up."""

    def __call__(self, attempt: int) -> int:
        return 0


@dataclass(frozen=True, slots=True)
class QueueDefault:
    """Leave the visibility alone: the message returns after the queue's visibility timeout."""

    def __call__(self, attempt: int) -> int:
        raise NotImplementedError("queue_default() sets no visibility: delay_for() returns None for it")


_builtin_min, _builtin_max = min, max


def exponential(base: float = 2.0, min: float = 1.0, max: float = 900.0, jitter: float = 0.1) -> Exponential:
    return Exponential(base=base, min=min, max=max, jitter=jitter)


def constant(seconds: int) -> Constant:
    return Constant(seconds)


def immediate() -> Immediate:
    return Immediate()


def queue_default() -> QueueDefault:
    return QueueDefault()


def delay_for(policy: BackoffPolicy, attempt: int) -> int | None:
    """The visibility timeout to set after a failure, or None to leave the queue's own."""
    if isinstance(policy, QueueDefault):
        return None
    try:
        return _clamp(policy(attempt))
    except Exception:  # a custom policy that fails must not fail the batch: keep the queue's timeout
        return None

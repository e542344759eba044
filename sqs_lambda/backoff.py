"""Backoff policies: small value objects that map an attempt number to a delay in seconds.

A policy is any callable ``(attempt: int) -> int``; ``attempt`` is 1 on the first delivery (SQS's
``ApproximateReceiveCount``). The delay becomes the failed message's next visibility timeout, so the
result is clamped to SQS's 0-43,200 s range.
"""

from __future__ import annotations

from collections.abc import Callable

MAX_VISIBILITY = 43_200

BackoffPolicy = Callable[[int], int]


def _clamp(seconds: float) -> int:
    return max(0, min(MAX_VISIBILITY, round(seconds)))


class _Policy:
    """A small immutable value object: equal by its fields, readable repr."""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._fields() == self._fields()

    def __hash__(self) -> int:
        return hash((type(self), self._fields()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({inner})"

    def __setattr__(self, name: str, value: object) -> None:
        if hasattr(self, name):
            raise AttributeError(f"{type(self).__name__} is immutable")
        object.__setattr__(self, name, value)

    def __call__(self, attempt: int) -> int:
        raise NotImplementedError


class Exponential(_Policy):
    """``min * base ** (attempt - 1)``, capped at ``max``, with +/- ``jitter`` (a fraction) of noise."""

    __slots__ = ("base", "jitter", "max", "min")
    base: float
    min: float
    max: float
    jitter: float

    def __init__(self, base: float = 2.0, min: float = 1.0, max: float = 900.0, jitter: float = 0.1) -> None:
        if base < 1 or min < 0 or max < min or not 0 <= jitter < 1:
            raise ValueError(f"invalid exponential backoff (base={base}, min={min}, max={max}, jitter={jitter})")
        self.base, self.min, self.max, self.jitter = base, min, max, jitter

    def __call__(self, attempt: int) -> int:
        exponent = _builtin_min(_builtin_max(attempt, 1) - 1, 64)  # base ** 64 is past any cap
        delay = _builtin_min(self.max, self.min * self.base**exponent)
        if self.jitter:
            import random  # lazy: only failures pay for it

            delay *= 1 + random.uniform(-self.jitter, self.jitter)
        return _clamp(_builtin_min(delay, self.max))


class Constant(_Policy):
    """The same delay after every failure."""

    __slots__ = ("seconds",)
    seconds: int

    def __init__(self, seconds: int) -> None:
        if not 0 <= seconds <= MAX_VISIBILITY:
            raise ValueError(f"constant backoff must be 0-{MAX_VISIBILITY} seconds, got {seconds}")
        self.seconds = seconds

    def __call__(self, attempt: int) -> int:
        return self.seconds


class Immediate(_Policy):
    """Visible again at once (visibility 0): retry as soon as a poller picks it up."""

    __slots__ = ()

    def __call__(self, attempt: int) -> int:
        return 0


class QueueDefault(_Policy):
    """Leave the visibility alone: the message returns after the queue's visibility timeout."""

    __slots__ = ()


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

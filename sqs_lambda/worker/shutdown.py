"""When a worker stops by itself: small policy values that compose, as sqs-workers' do.

``Shutdown()`` never stops; ``idle(30)`` stops after 30 s without a message; ``after(1000)`` after 1,000
messages handled; ``idle(30) | after(1000)`` at whichever comes first. ``Shutdown.parse`` reads the
CLI's spelling (``never``, ``idle:30``, ``after:1000``, ``idle:30|after:1000``).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigurationError


@dataclass(frozen=True)
class Shutdown:
    """Never stops by itself (a signal still stops the worker). The base of the other policies."""

    def reached(self, handled: int, idle_seconds: float) -> bool:
        """The worker should stop, having handled ``handled`` messages and been idle ``idle_seconds``."""
        return False

    def limit(self) -> int | None:
        """The most messages the worker may still receive in all (an ``after`` policy), or None."""
        return None

    def __or__(self, other: Shutdown) -> Shutdown:
        mine = self.policies if isinstance(self, AnyOf) else (self,)
        theirs = other.policies if isinstance(other, AnyOf) else (other,)
        return AnyOf(mine + theirs)

    def __str__(self) -> str:
        return "never"

    @classmethod
    def parse(cls, text: str) -> Shutdown:
        """``never``, ``idle:SECONDS``, ``after:N``, or several joined by ``|``."""
        policies = [_parse_one(part.strip(), text) for part in text.split("|")]
        combined = policies[0]
        for policy in policies[1:]:
            combined = combined | policy
        return combined


@dataclass(frozen=True)
class Idle(Shutdown):
    seconds: float

    def reached(self, handled: int, idle_seconds: float) -> bool:
        return idle_seconds >= self.seconds

    def __str__(self) -> str:
        return f"idle:{self.seconds:g}"


@dataclass(frozen=True)
class After(Shutdown):
    messages: int

    def reached(self, handled: int, idle_seconds: float) -> bool:
        return handled >= self.messages

    def limit(self) -> int | None:
        return self.messages

    def __str__(self) -> str:
        return f"after:{self.messages}"


@dataclass(frozen=True)
class AnyOf(Shutdown):
    policies: tuple[Shutdown, ...]

    def reached(self, handled: int, idle_seconds: float) -> bool:
        return any(policy.reached(handled, idle_seconds) for policy in self.policies)

    def limit(self) -> int | None:
        limits = [limit for policy in self.policies if (limit := policy.limit()) is not None]
        return min(limits) if limits else None

    def __str__(self) -> str:
        return "|".join(str(policy) for policy in self.policies)


def never() -> Shutdown:
    return Shutdown()


def idle(seconds: float) -> Idle:
    if seconds <= 0:
        raise ConfigurationError(f"idle({seconds}): give a positive number of seconds")
    return Idle(seconds)


def after(messages: int) -> After:
    if messages <= 0:
        raise ConfigurationError(f"after({messages}): give a positive number of messages")
    return After(messages)


def _parse_one(part: str, text: str) -> Shutdown:
    kind, _, value = part.partition(":")
    if kind == "never" and not value:
        return Shutdown()
    try:
        number = float(value)
    except ValueError:
        number = -1
    if kind == "idle" and number > 0:
        return Idle(number)
    if kind == "after" and number > 0 and number.is_integer():
        return After(int(number))
    raise ConfigurationError(f"--shutdown {text!r}: use never, idle:SECONDS, after:N, or several joined by |")

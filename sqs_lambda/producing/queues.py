"""A queue as configuration names it: a URL, or a name that a stage prefixes (``{stage}-{name}``).

One rule for every place that takes a queue from a person: the producer, a router's sender, worker mode,
Django's ``SQS_LAMBDA["QUEUE"]`` and the CLI. A URL is used as it is; a name is looked up (GetQueueUrl)
through the caller's SQS port, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def name_of_url(url: str) -> str:
    """A queue URL's queue name (its last path segment)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class QueueRef:
    """A queue URL, or a queue name with the stage that prefixes it."""

    url: str | None = None
    name: str | None = None
    stage: str = ""

    def __post_init__(self) -> None:
        if not self.url and not self.name:
            raise ConfigurationError("a queue URL or name is needed")

    @classmethod
    def parse(cls, value: str, stage: str = "") -> QueueRef:
        """``value`` is a URL or a name (``stage`` prefixes a name)."""
        return cls(url=value) if is_url(value) else cls(name=value, stage=stage)

    @property
    def full_name(self) -> str | None:
        """The queue's name in SQS: the stage's prefix added (None for a URL)."""
        if self.url:
            return None
        return f"{self.stage}-{self.name}" if self.stage else self.name

    def resolve(self, backend: SqsBackend) -> str:
        """The queue URL: this one, or the name's (GetQueueUrl through ``backend``)."""
        if self.url:
            return self.url
        assert self.full_name is not None  # a name, by __post_init__
        return backend.queue_url(self.full_name)

    def __str__(self) -> str:
        return self.url or str(self.full_name)

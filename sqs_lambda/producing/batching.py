"""What SQS accepts in a send, as the producer applies it: delays, batches of at most 10 entries and
1 MiB, and the refusals that no retry can turn into a success."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar

MAX_DELAY = 7 * 24 * 3600  # a week: long delays travel in 900 s hops, each re-sent by a consumer
BATCH_BYTES = 1_048_576
# An entry SQS refuses for its content fails again, whatever SenderFault says (LocalStack answers false).
NEVER_RETRIED = frozenset({"InvalidMessageContents", "AWS.SimpleQueueService.InvalidMessageContents"})


class Sized(Protocol):
    size: int


Message = TypeVar("Message", bound=Sized)


def check_delay(delay: float) -> None:
    if delay < 0:
        raise ValueError(f"delay must be >= 0 seconds, got {delay}")
    if delay > MAX_DELAY:
        raise ValueError(f"delay must be at most {MAX_DELAY} seconds (7 days), got {delay}")


def pack(messages: Sequence[Message]) -> Iterator[list[Message]]:
    """Split into SendMessageBatch groups of at most 10 entries and 1 MiB."""
    group: list[Message] = []
    size = 0
    for message in messages:
        if group and (len(group) == 10 or size + message.size > BATCH_BYTES):
            yield group
            group, size = [], 0
        group.append(message)
        size += message.size
    if group:
        yield group

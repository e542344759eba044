from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sqs_lambda import aws


class Hooks:
    """botocore event hooks on the library's own SQS client (to observe or inject faults)."""

    def __init__(self) -> None:
        self._registered: list[tuple[str, Callable[..., Any]]] = []
        self.calls: dict[str, list[dict[str, Any]]] = {}

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        aws.client("sqs").meta.events.register(event, handler)
        self._registered.append((event, handler))

    def record(self, operation: str) -> list[dict[str, Any]]:
        """Record the parameters of every call of ``operation`` (e.g. SendMessageBatch)."""
        calls = self.calls.setdefault(operation, [])
        self.on(f"provide-client-params.sqs.{operation}", lambda params, **_: calls.append(dict(params)))
        return calls

    def clear(self) -> None:
        for event, handler in self._registered:
            aws.client("sqs").meta.events.unregister(event, handler)
        self._registered.clear()


@pytest.fixture
def hooks(sqs_local: Any) -> Iterator[Hooks]:
    recorder = Hooks()
    yield recorder
    recorder.clear()

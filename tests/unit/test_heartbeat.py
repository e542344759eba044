"""The worker's heartbeat: extends running batches, and never overrides a visibility the consumer set."""

from __future__ import annotations

import time
from typing import Any

from sqs_lambda.worker.heartbeat import HeartbeatAwareBackend, Heartbeats


class Recording:
    def __init__(self) -> None:
        self.changes: list[tuple[str, int]] = []

    def change_visibility(self, url: str, changes: Any) -> list[dict[str, Any]]:
        self.changes += list(changes)
        return []

    def counts(self, url: str) -> str:
        return "delegated"


def test_a_tracked_batch_is_extended_until_untracked() -> None:
    backend = Recording()
    beats = Heartbeats(backend, "q")  # type: ignore[arg-type]
    beats.start(1)  # a beat every half second
    token = beats.track(["r1", "r2"])
    time.sleep(1.3)
    beats.untrack(token)
    extended = len(backend.changes)
    time.sleep(0.8)
    beats.stop()
    assert extended >= 2 and set(backend.changes) == {("r1", 1), ("r2", 1)}
    assert len(backend.changes) == extended  # nothing after untrack


def test_a_backoff_takes_its_receipt_off_the_heartbeat() -> None:
    backend = Recording()
    beats = Heartbeats(backend, "q")  # type: ignore[arg-type]
    port = HeartbeatAwareBackend(backend, beats)  # type: ignore[arg-type]
    beats.start(1)
    beats.track(["failed", "running"])
    port.change_visibility("q", [("failed", 30)])  # the consumer's backoff for one record
    time.sleep(1.3)
    beats.stop()
    assert backend.changes[0] == ("failed", 30)
    assert all(receipt == "running" for receipt, _ in backend.changes[1:]) and len(backend.changes) > 1
    assert port.counts("q") == "delegated"  # everything else goes straight through

"""Keeping a worker's running batches invisible: one heartbeat thread per worker (:class:`Heartbeats`),
and the router's SQS port in a worker (:class:`HeartbeatAwareBackend`), which takes a record off the
heartbeat before the consumer sets its visibility (a backoff, a release), so a beat never overrides it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from .. import observe
from ..aws.sqs import ForwardingSqs, SqsBackend


class Heartbeats:
    """One thread per worker that keeps running batches invisible: each tracked batch's visibility is
    extended every half timeout until it is untracked (no thread per batch: that costs on every batch).
    A receipt the consumer sets a visibility for (backoff, release) is forgotten first, under the same
    lock a beat holds while it extends, so a beat never overrides a backoff."""

    def __init__(self, backend: SqsBackend, url: str) -> None:
        self.backend, self.url, self.visibility = backend, url, 30
        self._batches: dict[int, tuple[list[str], float]] = {}  # token -> (receipts, next extension)
        self._lock = threading.Lock()
        self._tokens = iter(range(1 << 62))
        self._stopped = threading.Event()

    def start(self, visibility: int) -> None:
        self.visibility = max(1, visibility)
        threading.Thread(target=self._beat, daemon=True, name="heartbeats").start()

    def track(self, receipts: list[str]) -> int:
        with self._lock:
            token = next(self._tokens)
            self._batches[token] = (receipts, time.monotonic() + self.visibility / 2)
            return token

    def untrack(self, token: int) -> None:
        with self._lock:
            self._batches.pop(token, None)

    def forget(self, receipts: set[str]) -> None:
        with self._lock:
            for token, (tracked, due) in list(self._batches.items()):
                self._batches[token] = ([r for r in tracked if r not in receipts], due)

    def stop(self) -> None:
        self._stopped.set()

    def _beat(self) -> None:
        tick = min(0.25, self.visibility / 4)
        while not self._stopped.wait(tick):
            now = time.monotonic()
            with self._lock:  # held while extending: forget() waits, so a backoff set after it wins
                for token, (receipts, due) in list(self._batches.items()):
                    if due > now or not receipts:
                        continue
                    self._batches[token] = (receipts, now + self.visibility / 2)
                    try:
                        self.backend.change_visibility(self.url, [(r, self.visibility) for r in receipts])
                    except Exception as error:  # the next beat tries again; SQS redelivers only if all fail
                        observe.log_loudly("heartbeat failed", error_message=str(error)[:300])


class HeartbeatAwareBackend(ForwardingSqs):
    """The router's SQS port inside a worker, an :class:`~sqs_lambda.aws.sqs.SqsBackend` of its own: the
    consumer's visibility changes (backoff, releases) take their receipts off the heartbeat first; every
    other call goes straight to the worker's backend."""

    def __init__(self, backend: SqsBackend, heartbeats: Heartbeats) -> None:
        super().__init__(backend)
        self._heartbeats = heartbeats

    def change_visibility(self, url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        self._heartbeats.forget({receipt for receipt, _ in changes})
        return self.backend.change_visibility(url, changes)

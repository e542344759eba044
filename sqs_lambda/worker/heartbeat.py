"""Keeping a worker's running batches invisible: one heartbeat thread per worker (:class:`Heartbeats`),
and the router's SQS port in a worker (:class:`HeartbeatAwareBackend`), which takes a record off the
heartbeat before the consumer sets its visibility (a backoff, a release), so a beat never overrides it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Unpack

from .. import observe
from ..aws.sqs import Attributes, QueueCounts, QueueInfo, SendOptions, SqsBackend


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


class HeartbeatAwareBackend:
    """The router's SQS port inside a worker, an :class:`~sqs_lambda.aws.sqs.SqsBackend` of its own: the
    consumer's visibility changes (backoff, releases) take their receipts off the heartbeat first; every
    other call goes straight to the worker's backend."""

    def __init__(self, backend: SqsBackend, heartbeats: Heartbeats) -> None:
        self._backend, self._heartbeats = backend, heartbeats

    def change_visibility(self, url: str, changes: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
        self._heartbeats.forget({receipt for receipt, _ in changes})
        return self._backend.change_visibility(url, changes)

    def queue_url(self, name: str, *, account: str | None = None) -> str:
        return self._backend.queue_url(name, account=account)

    def queue_info(self, *, url: str | None = None, arn: str | None = None) -> QueueInfo:
        return self._backend.queue_info(url=url, arn=arn)

    def send(self, url: str, body: str, attributes: Attributes | None = None, **options: Unpack[SendOptions]) -> str:
        return self._backend.send(url, body, attributes, **options)

    def send_batch(self, url: str, entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        return self._backend.send_batch(url, entries)

    def receive(
        self, url: str, *, max_messages: int = 10, wait_seconds: float = 0, visibility_timeout: int | None = None
    ) -> list[dict[str, Any]]:
        return self._backend.receive(
            url, max_messages=max_messages, wait_seconds=wait_seconds, visibility_timeout=visibility_timeout
        )

    def delete(self, url: str, receipts: Sequence[str]) -> list[dict[str, Any]]:
        return self._backend.delete(url, receipts)

    def counts(self, url: str) -> QueueCounts:
        return self._backend.counts(url)

    def purge(self, url: str) -> None:
        self._backend.purge(url)

    def list_queues(self, prefix: str = "") -> list[str]:
        return self._backend.list_queues(prefix)

    def start_move_task(self, source_arn: str, destination_arn: str | None, rate: int | None) -> str:
        return self._backend.start_move_task(source_arn, destination_arn, rate)

"""The overview's rows: one per queue, from one ``GetQueueAttributes(All)`` per queue, fetched concurrently
and kept for the refresh interval (so a page open in three tabs costs what one does).

A row has the three counts, FIFO or standard, the DLQ (by name, its depth from its own row) and the age
of the oldest message: an attribute on the embedded engine, CloudWatch's ``ApproximateAgeOfOldestMessage``
on AWS (see :mod:`.history`), unknown elsewhere.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqs_lambda.producing.queues import name_of_url

AGE_ATTRIBUTE = "ApproximateAgeOfOldestMessage"


@dataclass
class QueueRow:
    name: str
    url: str
    arn: str = ""
    fifo: bool = False
    visible: int = 0
    in_flight: int = 0
    delayed: int = 0
    oldest_age: float | None = None
    dlq_arn: str | None = None
    max_receive_count: int | None = None
    dlq: QueueRow | None = field(default=None, repr=False)
    sources: list[str] = field(default_factory=list)  # names of the queues whose DLQ this is
    error: str = ""  # the queue could not be read (deleted, no permission): shown on its row

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed

    @property
    def is_dlq(self) -> bool:
        return bool(self.sources)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "fifo": self.fifo,
            "visible": self.visible,
            "in_flight": self.in_flight,
            "delayed": self.delayed,
            "oldest_age_seconds": self.oldest_age,
            "dlq": self.dlq.name if self.dlq else None,
            "dlq_depth": self.dlq.total if self.dlq else None,
            "dlq_of": self.sources,
            "max_receive_count": self.max_receive_count,
            "error": self.error,
        }


def row_of(url: str, attributes: dict[str, str]) -> QueueRow:
    """A row from a GetQueueAttributes(All) answer."""
    redrive = json.loads(attributes.get("RedrivePolicy") or "{}")
    age = attributes.get(AGE_ATTRIBUTE)
    return QueueRow(
        name=name_of_url(url),
        url=url,
        arn=attributes.get("QueueArn", ""),
        fifo=attributes.get("FifoQueue") == "true",
        visible=int(attributes.get("ApproximateNumberOfMessages", 0)),
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        oldest_age=float(age) if age is not None and attributes.get("ApproximateNumberOfMessages") != "0" else None,
        dlq_arn=redrive.get("deadLetterTargetArn"),
        max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
    )


class QueueBoard:
    """Rows for the queues ``urls()`` names. ``attributes(url)`` is one GetQueueAttributes(All) call;
    ``ages(names)`` fills ages it does not carry (CloudWatch on AWS), at most once per ``age_ttl``."""

    def __init__(
        self,
        urls: Callable[[], Sequence[str]],
        attributes: Callable[[str], dict[str, str]],
        *,
        ttl: float = 2.0,
        ages: Callable[[Sequence[str]], dict[str, float]] | None = None,
        age_ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        workers: int = 16,
    ) -> None:
        self.urls, self.attributes, self.ttl, self.clock = urls, attributes, ttl, clock
        self.ages, self.age_ttl = ages, age_ttl
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dashboard-attributes")
        self._lock = threading.Lock()
        self._rows: list[QueueRow] = []
        self._read_at = float("-inf")
        self._ages: dict[str, float] = {}
        self._ages_at = float("-inf")
        self.error = ""  # the queues could not be listed (the endpoint is down...): one line for the page

    def rows(self, *, fresh: bool = False) -> list[QueueRow]:
        """Every row, DLQs linked to their sources; cached for ``ttl`` seconds unless ``fresh``."""
        with self._lock:
            if fresh or self.clock() - self._read_at >= self.ttl:
                self._rows = self._read()
                self._read_at = self.clock()
            return self._rows

    def row(self, name: str, *, fresh: bool = False) -> QueueRow | None:
        return next((row for row in self.rows(fresh=fresh) if row.name == name), None)

    def expire(self) -> None:
        """Forget the cached rows: an action changed the queues."""
        with self._lock:
            self._read_at = float("-inf")

    def _read(self) -> list[QueueRow]:
        try:
            urls = list(self.urls())
        except Exception as error:  # nothing to show but why
            self.error = f"the queues cannot be listed: {type(error).__name__}: {error}"
            return []
        self.error = ""

        def read(url: str) -> QueueRow:
            try:
                return row_of(url, self.attributes(url))
            except Exception as error:
                return QueueRow(name=name_of_url(url), url=url, error=str(error))

        rows = list(self._pool.map(read, urls))
        by_arn = {row.arn: row for row in rows if row.arn}
        for row in rows:
            if row.dlq_arn and row.dlq_arn in by_arn:
                row.dlq = by_arn[row.dlq_arn]
                row.dlq.sources.append(row.name)
        if self.ages is not None and any(row.oldest_age is None for row in rows):
            if self.clock() - self._ages_at >= self.age_ttl:
                try:
                    self._ages = self.ages([row.name for row in rows])
                except Exception:
                    self._ages = {}
                self._ages_at = self.clock()
            for row in rows:
                if row.oldest_age is None:
                    row.oldest_age = self._ages.get(row.name)
        return rows

"""Throughput and failures per queue over the last hour, in twelve five-minute buckets.

- :class:`JournalHistory` (``sqs-lambda local``): counts the runtime's ``attempt`` events in its journal,
  reading only what was appended since the last look.
- :class:`CloudWatchHistory` (AWS): one ``GetMetricData`` for every queue: ``NumberOfMessagesDeleted``
  (done) and ``NumberOfMessagesReceived`` minus that (receives that did not end in a delete: failed
  attempts); also the ``ApproximateAgeOfOldestMessage`` the overview shows.
A history maps a queue name to ``Series(done, failed)``, oldest bucket first.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

BUCKETS = 12
BUCKET_SECONDS = 300


@dataclass
class Series:
    done: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    failed: list[int] = field(default_factory=lambda: [0] * BUCKETS)

    def as_json(self) -> dict[str, Any]:
        return {"bucket_seconds": BUCKET_SECONDS, "done": self.done, "failed": self.failed}


class History(Protocol):
    def series(self, queues: Sequence[str]) -> dict[str, Series]: ...


class JournalHistory:
    """Reads the journal's new lines at each call (thread-safe), keeping the last hour's counts."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path, self.clock = path, clock
        self._offset = 0
        self._counts: dict[str, dict[int, list[int]]] = defaultdict(dict)  # queue -> bucket -> [done, failed]
        self._lock = threading.Lock()

    def _read_new(self) -> None:
        import json

        try:
            with self.path.open("rb") as journal:
                if journal.seek(0, 2) < self._offset:  # rotated: start the new file from its beginning
                    self._offset = 0
                journal.seek(self._offset)
                for line in journal:
                    if not line.endswith(b"\n"):
                        break  # a line being written: read it next time
                    self._offset += len(line)
                    if b'"attempt"' not in line:
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if event.get("event") != "attempt":
                        continue
                    bucket = int(float(event.get("time", 0)) // BUCKET_SECONDS)
                    counts = self._counts[str(event.get("queue"))].setdefault(bucket, [0, 0])
                    counts[0 if event.get("outcome") == "succeeded" else 1] += 1
        except FileNotFoundError:
            return

    def series(self, queues: Sequence[str]) -> dict[str, Series]:
        with self._lock:
            self._read_new()
            last = int(self.clock() // BUCKET_SECONDS)
            first = last - BUCKETS + 1
            result = {}
            for queue in queues:
                buckets = self._counts.get(queue, {})
                for old in [bucket for bucket in buckets if bucket < first]:
                    del buckets[old]
                series = Series()
                for bucket, (done, failed) in buckets.items():
                    series.done[bucket - first] += done
                    series.failed[bucket - first] += failed
                result[queue] = series
            return result


class CloudWatchHistory:
    """AWS/SQS metrics through one ``GetMetricData`` per refresh (cached for ``ttl`` seconds)."""

    def __init__(self, cloudwatch: Any, *, ttl: float = 60.0, clock: Callable[[], float] = time.time) -> None:
        self.cloudwatch, self.ttl, self.clock = cloudwatch, ttl, clock
        self._cache: tuple[float, tuple[str, ...], dict[str, dict[str, list[float]]]] | None = None
        self._lock = threading.Lock()

    def _metrics(self, queues: Sequence[str]) -> dict[str, dict[str, list[float]]]:
        with self._lock:
            key = tuple(sorted(queues))
            if self._cache and self._cache[1] == key and self.clock() - self._cache[0] < self.ttl:
                return self._cache[2]
            end = dt.datetime.fromtimestamp(self.clock() // BUCKET_SECONDS * BUCKET_SECONDS + BUCKET_SECONDS, dt.UTC)
            start = end - dt.timedelta(seconds=BUCKETS * BUCKET_SECONDS)
            queries: list[dict[str, Any]] = []
            names: dict[str, tuple[str, str]] = {}
            for index, queue in enumerate(key):
                for metric, stat in (
                    ("NumberOfMessagesDeleted", "Sum"),
                    ("NumberOfMessagesReceived", "Sum"),
                    ("ApproximateAgeOfOldestMessage", "Maximum"),
                ):
                    query_id = f"m{index}_{len(queries) % 3}"
                    names[query_id] = (queue, metric)
                    queries.append(
                        {
                            "Id": query_id,
                            "MetricStat": {
                                "Metric": {
                                    "Namespace": "AWS/SQS",
                                    "MetricName": metric,
                                    "Dimensions": [{"Name": "QueueName", "Value": queue}],
                                },
                                "Period": BUCKET_SECONDS,
                                "Stat": stat,
                            },
                        }
                    )
            found: dict[str, dict[str, list[float]]] = defaultdict(dict)
            for chunk in range(0, len(queries), 500):  # GetMetricData's limit per call
                response = self.cloudwatch.get_metric_data(
                    MetricDataQueries=queries[chunk : chunk + 500], StartTime=start, EndTime=end
                )
                for result in response.get("MetricDataResults", []):
                    queue, metric = names[result["Id"]]
                    values = [0.0] * BUCKETS
                    for stamp, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                        slot = int((stamp - start).total_seconds() // BUCKET_SECONDS)
                        if 0 <= slot < BUCKETS:
                            values[slot] = float(value)
                    found[queue][metric] = values
            self._cache = (self.clock(), key, dict(found))
            return self._cache[2]

    def series(self, queues: Sequence[str]) -> dict[str, Series]:
        metrics = self._metrics(queues)
        result = {}
        for queue in queues:
            deleted = metrics.get(queue, {}).get("NumberOfMessagesDeleted", [0.0] * BUCKETS)
            received = metrics.get(queue, {}).get("NumberOfMessagesReceived", [0.0] * BUCKETS)
            result[queue] = Series(
                done=[int(value) for value in deleted],
                failed=[max(0, int(got - done)) for got, done in zip(received, deleted, strict=True)],
            )
        return result

    def oldest_ages(self, queues: Sequence[str]) -> dict[str, float]:
        """The latest ApproximateAgeOfOldestMessage per queue (a queue with no datapoint is left out)."""
        ages = {}
        for queue, metrics in self._metrics(queues).items():
            points = [value for value in metrics.get("ApproximateAgeOfOldestMessage", []) if value]
            if points:
                ages[queue] = points[-1]
        return ages

"""The local runtime's event stream, kept: an append-only JSON-lines file (``.sqs-lambda/events.jsonl``).

Every event the runtime emits (``invoke``, ``attempt``, ``log``, ``report``, ``fault``...) is one line,
``{"event": kind, "time": epoch seconds, ...}``, the shape ``--json`` prints. The job inspector reads it,
so a dashboard started later, or a restarted one, still shows what happened. The file is never
rewritten; past :data:`MAX_BYTES` it is renamed ``events.1.jsonl`` (one generation kept) and a new one
begun. Job arguments are not in it, except where a function logs them itself.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

FILE_NAME = "events.jsonl"
MAX_BYTES = 64 * 1024 * 1024


def journal_path(state_dir: Path | str) -> Path:
    return Path(state_dir) / FILE_NAME


class Journal:
    """An ``on_event`` sink that appends each event to the file. Thread-safe."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time, max_bytes: int = MAX_BYTES) -> None:
        self.path, self.clock, self.max_bytes = path, clock, max_bytes
        self._lock = threading.Lock()
        self._file: IO[str] | None = None

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        line = json.dumps({"event": kind, "time": round(self.clock(), 3), **data}, default=str)
        with self._lock:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("a", encoding="utf-8")
            self._file.write(line + "\n")
            self._file.flush()  # a dashboard in another process reads it as it grows
            if self._file.tell() > self.max_bytes:
                self._file.close()
                self.path.replace(self.path.with_name(self.path.stem + ".1.jsonl"))
                self._file = None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_events(
    path: Path, *, since: float = 0.0, accept: Callable[[bytes], bool] | None = None
) -> Iterator[dict[str, Any]]:
    """The journal's events in order, the previous generation first; ``accept`` skips a raw line before it
    is parsed (a cheap filter); a torn last line is skipped."""
    for part in (path.with_name(path.stem + ".1.jsonl"), path):
        try:
            with part.open("rb") as lines:
                for line in lines:
                    if accept is not None and not accept(line):
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(event, dict) and float(event.get("time") or 0) >= since:
                        yield event
        except FileNotFoundError:
            continue


def tee(*sinks: Callable[[str, dict[str, Any]], None]) -> Callable[[str, dict[str, Any]], None]:
    """One ``on_event`` that calls each sink in turn."""

    def emit(kind: str, data: dict[str, Any]) -> None:
        for sink in sinks:
            sink(kind, data)

    return emit

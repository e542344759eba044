"""Code reload for ``sqs-lambda local``: a change under a function's ``CodeUri`` (or a layer's content)
retires its execution environments, as a deployment would.

A thread compares the modification times of the watched files once a second (no dependency, and a
function's code directory is small). On a change, the function's idle environments stop at once, busy
ones after their invocation, and one line names the function and the changed file. Directories whose
names start with a dot, ``__pycache__`` and ``node_modules`` are not watched.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

WATCHED_SUFFIXES = {".py", ".json", ".yaml", ".yml", ".toml", ".txt", ".cfg", ".ini", ".html", ".sql"}
SKIPPED_DIRECTORIES = {"__pycache__", "node_modules"}


class Retirable(Protocol):
    name: str

    def retire(self) -> None: ...


def snapshot(roots: Iterable[Path]) -> dict[str, int]:
    """Path -> modification time (ns) of every watched file under ``roots``."""
    found: dict[str, int] = {}
    for root in roots:
        for directory, subdirectories, files in os.walk(root):
            subdirectories[:] = [d for d in subdirectories if not d.startswith(".") and d not in SKIPPED_DIRECTORIES]
            for name in files:
                if os.path.splitext(name)[1] in WATCHED_SUFFIXES:
                    path = os.path.join(directory, name)
                    try:
                        found[path] = os.stat(path).st_mtime_ns
                    except OSError:
                        continue
    return found


class CodeWatcher:
    """Watches each function's code directories; ``run(stop)`` until ``stop`` is set."""

    def __init__(
        self,
        functions: Iterable[tuple[Retirable, list[Path]]],
        on_event: Callable[[str, dict[str, Any]], None],
        interval: float = 1.0,
    ) -> None:
        self.functions = list(functions)
        self.on_event = on_event
        self.interval = interval
        self._seen = {id(function): snapshot(roots) for function, roots in self.functions}

    def check(self) -> list[str]:
        """Compare once; retire the functions whose code changed. Returns their names."""
        changed_functions = []
        for function, roots in self.functions:
            now = snapshot(roots)
            before = self._seen[id(function)]
            if now == before:
                continue
            self._seen[id(function)] = now
            changed = sorted({p for p in now.keys() | before.keys() if now.get(p) != before.get(p)})
            function.retire()
            changed_functions.append(function.name)
            shown = os.path.relpath(changed[0]) + (f" and {len(changed) - 1} more" if len(changed) > 1 else "")
            self.on_event("reload", {"function": function.name, "changed": shown})
        return changed_functions

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.check()

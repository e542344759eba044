"""What ``sqs-lambda local`` shows: a live view on a terminal, lines otherwise, JSON with ``--json``.

Events come from the runtime's threads (``engine``, ``resources``, ``http-api``, ``dashboard``, ``http``,
``invoke``, ``attempt`` (one per record; not shown as a line), ``filtered``, ``schedule``, ``cold-start``,
``timeout``, ``init-error``, ``log`` and ``report``: each environment's output and Lambda's START/END/REPORT
lines, prefixed with the function's name; ``warning``, ``error``); the live view also polls queue counts.
Colour only on a TTY.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from sqs_lambda_dev.local.runtime import LocalRuntime
from sqs_lambda_dev.local.stopping import silence_stdout
from sqs_lambda_dev.local.trigger import percentile


class _PipeConsole(Console):
    """rich's Console, except that a closed pipe raises BrokenPipeError (rich's own answer, SystemExit,
    would silently end whichever runtime thread happened to print)."""

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError("stdout's reader is gone")


class Display:
    def __init__(self, *, json_output: bool = False, live: bool | None = None) -> None:
        self.json_output = json_output
        self.console = _PipeConsole(stderr=False, highlight=False)
        self.live_enabled = (self.console.is_terminal if live is None else live) and not json_output
        self._lock = threading.Lock()
        self._live: Live | None = None
        self.runtime: LocalRuntime | None = None
        self._recent: list[str] = []
        self.closed = False  # stdout's reader is gone (``| head``)
        self.on_closed: Callable[[], None] = lambda: None

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """A write to stdout; if its reader is gone, stop writing and tell ``on_closed`` (once)."""
        try:
            yield
        except (BrokenPipeError, ValueError):  # ValueError: the stream was closed under us
            if not self.closed:
                self.closed = True
                silence_stdout()
                self.on_closed()

    # -- events -------------------------------------------------------------------------------------

    def event(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock, self._writing():
            if self.closed:
                return
            if self.json_output:
                print(json.dumps({"event": kind, "time": round(time.time(), 3), **data}, default=str), flush=True)
                return
            line = self._describe(kind, data)
            if line is None:
                return
            if self._live is not None:
                self._recent = [*self._recent[-7:], line]
            else:
                self.console.print(line, markup=False, soft_wrap=True)

    @staticmethod
    def _describe(kind: str, data: dict[str, Any]) -> str | None:
        if kind == "engine":
            where = "embedded moto server" if data.get("embedded") else "external endpoint"
            return f"SQS endpoint ({where}): {data['url']}"
        if kind == "dashboard":
            return f"Job inspector: {data['url']}"
        if kind == "http-api":
            return f"HTTP API: {data['url']} ({data['routes']})"
        if kind == "http":
            return f"{data['function']}: {data['route']} -> {data['status']}, {data['duration_ms']:.0f} ms"
        if kind in ("log", "report"):
            return f"{data['function']} | {data['line']}"
        if kind == "cold-start":
            return f"{data['function']}: cold start, init {data['init_ms']:.0f} ms ({data['live']} environment(s))"
        if kind == "reload":
            return f"{data['function']}: code changed ({data['changed']}); its next invocations start new environments"
        if kind == "timeout":
            return f"{data['function']}: timed out after {data['seconds']:g} s; environment replaced"
        if kind == "init-error":
            return f"{data['function']}: init failed ({data['error']}); the batch returns to its queue"
        if kind == "resources":
            return "created queues: " + ", ".join(data["queues"].values())
        if kind == "invoke":
            problem = f" - {data['problem']}" if data.get("problem") else ""
            return (
                f"{data['function']}: {data['records']} record(s), {data['succeeded']} deleted, "
                f"{data['failed']} failed, {data['duration_ms']:.0f} ms{problem}"
            )
        if kind == "filtered":
            return f"{data['mapping']}: {data['count']} record(s) did not match FilterCriteria (deleted)"
        if kind == "schedule":
            return f"schedule {data['rule']} fired (#{data['fired']})"
        if kind == "info":
            return str(data["message"])
        if kind == "fault":
            details = ", ".join(f"{key} {value}" for key, value in data.items() if key != "fault")
            return f"chaos: {data['fault']} ({details})"
        if kind in ("warning", "error"):
            return f"{kind}: {data.get('message') or data.get('error')} {data.get('mapping', '')}".rstrip()
        return None

    # -- the live view ------------------------------------------------------------------------------

    def start_live(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        if not self.live_enabled:
            return
        self._live = Live(self._render(), console=self.console, refresh_per_second=2, transient=False)
        self._live.start()
        threading.Thread(target=self._refresh, daemon=True, name="display").start()

    def _refresh(self) -> None:
        while self._live is not None:
            try:
                self._live.update(self._render())
            except Exception:  # the endpoint went away during shutdown
                return
            time.sleep(0.5)

    def stop_live(self) -> None:
        if self._live is not None:
            live, self._live = self._live, None
            live.update(self._render())
            live.stop()

    def _render(self) -> Group:
        parts: list[Any] = []
        if self.runtime is not None:
            parts += [self.queue_table(self.runtime), self.function_table(self.function_stats(self.runtime))]
        parts += self._recent
        return Group(*parts)

    @staticmethod
    def queue_table(runtime: LocalRuntime) -> Table:
        table = Table(title="queues", title_justify="left")
        for column in ("queue", "visible", "in flight", "delayed", "DLQ"):
            table.add_column(column, justify="left" if column == "queue" else "right")
        counts = runtime.queue_counts()
        dlq_of = {source: dlq for dlq, source in runtime.resources.dlqs.items()}
        for logical, count in counts.items():
            if logical in runtime.resources.dlqs:
                continue
            dlq = dlq_of.get(logical)
            dlq_depth = str(sum(counts[dlq].values())) if dlq in counts else "-"
            table.add_row(
                runtime.resources.queue_name(logical),
                str(count["visible"]),
                str(count["in_flight"]),
                str(count["delayed"]),
                dlq_depth,
            )
        return table

    @staticmethod
    def function_stats(runtime: LocalRuntime) -> dict[str, dict[str, Any]]:
        """Per function: its invocations (by any event source), its triggers' records (succeeded, sent
        to the DLQ, failed), and its environments' life."""
        stats: dict[str, dict[str, Any]] = {}
        for function in runtime.functions.values():
            triggers = [t.stats for t in runtime.triggers.values() if t.function is function]
            durations = [d for t in triggers for d in t.durations_ms]
            dead_lettered = function.stats.dead_lettered
            stats[function.name] = {
                "invocations": function.stats.invocations,
                "records": sum(t.records for t in triggers),
                "succeeded": max(0, sum(t.succeeded for t in triggers) - dead_lettered),
                "dead_lettered": dead_lettered,
                "failed": sum(t.failed for t in triggers),
                "p50_ms": percentile(durations, 0.5),
                "p95_ms": percentile(durations, 0.95),
                "cold_starts": function.stats.cold_starts,
                "timeouts": function.stats.timeouts,
                "init_errors": function.stats.init_errors,
                "environments": function.stats.live,
            }
        return stats

    @staticmethod
    def function_table(stats: dict[str, dict[str, Any]]) -> Table:
        """One row per function (:meth:`function_stats`), in 80 columns: names lose their common prefix."""
        prefix = common_prefix(list(stats))
        title = "functions" + (f" ({prefix}...)" if prefix else "") + ", p50/p95 in ms"
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 0), show_edge=False)
        table.add_column("function", no_wrap=True, overflow="ellipsis", max_width=24)
        for header in ("calls", "recs", "ok", "dlq", "fail", "p50", "p95", "cold", "t/o", "envs"):
            table.add_column(header, justify="right", no_wrap=True, min_width=len(header) + 1)
        for name, row in stats.items():
            table.add_row(
                name[len(prefix) :],
                *(str(row[key]) for key in ("invocations", "records", "succeeded", "dead_lettered", "failed")),
                f"{row['p50_ms']:.0f}",
                f"{row['p95_ms']:.0f}",
                *(str(row[key]) for key in ("cold_starts", "timeouts", "environments")),
            )
        return table

    def summary(self, runtime: LocalRuntime, extra: dict[str, Any] | None = None) -> None:
        with self._writing():
            if not self.closed:
                self._summary(runtime, extra)

    def _summary(self, runtime: LocalRuntime, extra: dict[str, Any] | None) -> None:
        if self.json_output:
            stats = self.function_stats(runtime)
            print(
                json.dumps(
                    {"event": "summary", "functions": stats, "queues": runtime.queue_counts(), **(extra or {})},
                    default=str,
                ),
                flush=True,
            )
            return
        self.console.print(self.queue_table(runtime))
        self.console.print(self.function_table(self.function_stats(runtime)))
        if extra:
            self.console.print_json(json.dumps(extra, default=str))


def common_prefix(names: list[str]) -> str:
    """The prefix every name shares, up to a ``-`` (none for a single name: it is shown whole)."""
    if len(names) < 2:
        return ""
    shared = names[0]
    for name in names[1:]:
        while not name.startswith(shared):
            shared = shared[:-1]
    return shared[: shared.rfind("-") + 1] if "-" in shared else ""


def is_terminal() -> bool:
    return sys.stdout.isatty()

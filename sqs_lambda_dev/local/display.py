"""What ``sqs-lambda local`` shows: a live view on a terminal, lines otherwise, JSON with ``--json``.

Events come from the runtime's threads (``engine``, ``resources``, ``invoke``, ``filtered``,
``schedule``, ``warning``, ``error``); the live view also polls queue counts. Colour only on a TTY.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from sqs_lambda_dev.local.runtime import LocalRuntime


class Display:
    def __init__(self, *, json_output: bool = False, live: bool | None = None) -> None:
        self.json_output = json_output
        self.console = Console(stderr=False, highlight=False)
        self.live_enabled = (self.console.is_terminal if live is None else live) and not json_output
        self._lock = threading.Lock()
        self._live: Live | None = None
        self.runtime: LocalRuntime | None = None
        self._recent: list[str] = []

    # -- events -------------------------------------------------------------------------------------

    def event(self, kind: str, data: dict[str, Any]) -> None:
        with self._lock:
            if self.json_output:
                print(json.dumps({"event": kind, "time": round(time.time(), 3), **data}, default=str), flush=True)
                return
            line = self._describe(kind, data)
            if line is None:
                return
            if self._live is not None:
                self._recent = [*self._recent[-7:], line]
            else:
                self.console.print(line, markup=False)

    @staticmethod
    def _describe(kind: str, data: dict[str, Any]) -> str | None:
        if kind == "engine":
            where = "embedded moto server" if data.get("embedded") else "external endpoint"
            return f"SQS endpoint ({where}): {data['url']}"
        if kind == "http-api":
            return f"HTTP API: {data['url']} ({data['routes']})"
        if kind == "http":
            return f"{data['function']}: {data['route']} -> {data['status']}, {data['duration_ms']:.0f} ms"
        if kind == "resources":
            return "created queues: " + ", ".join(data["queues"].values())
        if kind == "invoke":
            problem = f" - {data['problem']}" if data.get("problem") else ""
            return (
                f"{data['function']}: {data['records']} record(s), {data['succeeded']} ok, "
                f"{data['failed']} failed, {data['duration_ms']:.0f} ms{problem}"
            )
        if kind == "filtered":
            return f"{data['mapping']}: {data['count']} record(s) did not match FilterCriteria (deleted)"
        if kind == "schedule":
            return f"schedule {data['rule']} fired (#{data['fired']})"
        if kind == "info":
            return str(data["message"])
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
            parts += [self.queue_table(self.runtime), self.function_table(self.runtime)]
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
    def function_table(runtime: LocalRuntime) -> Table:
        table = Table(title="functions", title_justify="left")
        for column in ("function", "invocations", "records", "ok", "failed", "p50 ms", "p95 ms"):
            table.add_column(column, justify="left" if column == "function" else "right")
        for trigger in runtime.triggers.values():
            stats = trigger.stats
            table.add_row(
                trigger.config.function_name,
                str(stats.invocations),
                str(stats.records),
                str(stats.succeeded),
                str(stats.failed),
                f"{stats.percentile(0.5):.0f}",
                f"{stats.percentile(0.95):.0f}",
            )
        return table

    def summary(self, runtime: LocalRuntime, extra: dict[str, Any] | None = None) -> None:
        if self.json_output:
            stats = {
                t.config.function_name: {
                    "invocations": t.stats.invocations,
                    "records": t.stats.records,
                    "succeeded": t.stats.succeeded,
                    "failed": t.stats.failed,
                    "p50_ms": t.stats.percentile(0.5),
                    "p95_ms": t.stats.percentile(0.95),
                }
                for t in runtime.triggers.values()
            }
            print(
                json.dumps(
                    {"event": "summary", "functions": stats, "queues": runtime.queue_counts(), **(extra or {})},
                    default=str,
                ),
                flush=True,
            )
            return
        self.console.print(self.queue_table(runtime))
        self.console.print(self.function_table(runtime))
        if extra:
            self.console.print_json(json.dumps(extra, default=str))


def is_terminal() -> bool:
    return sys.stdout.isatty()

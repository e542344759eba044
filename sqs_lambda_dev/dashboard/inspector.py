"""What the dashboard looks at, wired once: an :class:`Inspector` for ``sqs-lambda local`` (its engine,
template and journal) or for any target (an endpoint or AWS, the template's queues or a prefix's).

The pages and the API only talk to an Inspector; every collaborator (the SQS port, the board, the
history, the timeline source, the routers) is passed in, so tests build one from parts.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqs_lambda.aws.sqs import AwsSqs, SqsBackend
from sqs_lambda_dev import ops
from sqs_lambda_dev.dashboard.actions import Actions
from sqs_lambda_dev.dashboard.board import QueueBoard
from sqs_lambda_dev.dashboard.history import CloudWatchHistory, History, JournalHistory
from sqs_lambda_dev.dashboard.timeline import Entry, journal_timeline, json_line, logs_timeline
from sqs_lambda_dev.local.journal import Journal, journal_path, read_events


@dataclass
class Inspector:
    backend: SqsBackend
    board: QueueBoard
    history: History
    timeline: Callable[[str], list[Entry]]
    actions: Actions
    routers: Callable[[], dict[str, Any]] = dict  # queue URL -> the router that consumes it
    journal: Path | None = None  # the local runtime's events (functions page), if there is one
    where: str = ""  # "sqs-lambda local", "endpoint http://...", "AWS eu-west-1"
    local: bool = False

    def peek(self, url: str, count: int = 10) -> list[dict[str, Any]]:
        return ops.peek(self.backend, url, count, with_body=True)

    def jobs(self) -> dict[str, tuple[str, Any]]:
        """Every job a known router registers: name -> (queue URL, its job)."""
        found: dict[str, tuple[str, Any]] = {}
        for url, router in self.routers().items():
            for name, job in router.jobs.items():
                found.setdefault(name, (url, job))
        return found

    def functions(self) -> list[dict[str, Any]]:
        return functions_summary(self.journal) if self.journal is not None else []


def functions_summary(path: Path, *, reports: int = 5) -> list[dict[str, Any]]:
    """Per function, from the journal's latest run: invocations, cold starts, timeouts, init errors,
    environments alive at the last cold start, its last REPORT lines and job log lines."""
    counts: dict[str, Counter[str]] = {}
    last: dict[str, deque[str]] = {}
    jobs: dict[str, deque[dict[str, str]]] = {}
    live: dict[str, int] = {}
    wanted = (b'"report"', b'"cold-start"', b'"timeout"', b'"init-error"', b"envelope_id", b'"engine"')
    for event in read_events(path, accept=lambda line: any(kind in line for kind in wanted)):
        function = str(event.get("function") or "")
        kind = str(event.get("event"))
        if kind == "engine":  # a new run of the runtime: its functions start afresh
            counts, last, jobs, live = {}, {}, {}, {}
            continue
        if not function or kind == "attempt":
            continue
        counts.setdefault(function, Counter())[kind] += 1
        if kind == "report":
            last.setdefault(function, deque(maxlen=reports)).append(str(event.get("line", "")))
        if kind == "cold-start":
            live[function] = int(event.get("live") or 0)
        if kind == "log":  # a router's JSON line: it names its job's envelope id
            record = json_line(str(event.get("line", ""))) or {}
            if record.get("envelope_id"):
                jobs.setdefault(function, deque(maxlen=reports)).append(
                    {"envelope_id": str(record["envelope_id"]), "line": str(event.get("line", ""))}
                )
    return [
        {
            "function": name,
            "invocations": counted["report"],
            "cold_starts": counted["cold-start"],
            "timeouts": counted["timeout"],
            "init_errors": counted["init-error"],
            "environments": live.get(name, 0),
            "last_reports": list(last.get(name, [])),
            "last_job_lines": list(jobs.get(name, [])),
        }
        for name, counted in sorted(counts.items())
    ]


def attributes_of(backend: AwsSqs) -> Callable[[str], dict[str, str]]:
    def read(url: str) -> dict[str, str]:
        return dict(backend.client(url).get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])

    return read


def for_local(
    backend: AwsSqs,
    urls: Callable[[], Sequence[str]],
    state_dir: Path,
    routers: Callable[[], dict[str, Any]],
    *,
    record: Callable[[str, dict[str, Any]], None] | None = None,
    ttl: float = 2.0,
) -> Inspector:
    """The inspector of a local runtime: its queues, its journal (timelines, history, functions)."""
    path = journal_path(state_dir)
    journal = record or Journal(path)
    return Inspector(
        backend=backend,
        board=QueueBoard(urls, attributes_of(backend), ttl=ttl),
        history=JournalHistory(path),
        timeline=lambda envelope_id: journal_timeline(path, envelope_id),
        actions=Actions(backend, journal),
        routers=routers,
        journal=path,
        where="sqs-lambda local",
        local=True,
    )


def for_aws(
    backend: AwsSqs,
    urls: Callable[[], Sequence[str]],
    state_dir: Path,
    routers: Callable[[], dict[str, Any]],
    log_groups: Sequence[str],
    where: str,
    *,
    ttl: float = 2.0,
) -> Inspector:
    """The inspector of AWS itself: CloudWatch metrics for history and ages, CloudWatch Logs for
    timelines, and this dashboard's own journal of actions."""
    path = journal_path(state_dir)
    history = CloudWatchHistory(backend.config.client("cloudwatch"))
    logs = backend.config.client("logs")
    return Inspector(
        backend=backend,
        board=QueueBoard(urls, attributes_of(backend), ttl=ttl, ages=history.oldest_ages),
        history=history,
        timeline=lambda envelope_id: logs_timeline(logs, log_groups, envelope_id, journal=path),
        actions=Actions(backend, Journal(path)),
        routers=routers,
        journal=None,
        where=where,
    )

"""What the local triggers saw of each job, for ``--chaos``'s report: by lineage (the envelope id, which
a retry, a hop and a DLQ copy keep; else the message id), each job's name and how many times the function
reported it succeeded. With the DLQs read at the end, it says which jobs were lost."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqs_lambda.wire import envelope as wire


def lineage_of(record: Mapping[str, Any]) -> tuple[str, str]:
    """(lineage id, job name) of a record (or a received message)."""
    message_id = str(record.get("messageId") or record.get("MessageId") or "")
    try:
        decoded = wire.decode(record.get("body", record.get("Body")))
    except Exception:
        return message_id, "(undecodable)"
    if isinstance(decoded, wire.Envelope):
        return decoded.id, decoded.job
    return message_id, "(raw)"


class Ledger:
    """Thread-safe; the triggers call :meth:`saw` for each batch they deliver."""

    def __init__(self) -> None:
        self.jobs: dict[str, str] = {}  # lineage -> job name
        self.successes: Counter[str] = Counter()
        self._lock = threading.Lock()

    def saw(self, records: Sequence[Mapping[str, Any]], succeeded: Iterable[str]) -> None:
        """A delivered batch, and the message ids the function reported succeeded."""
        done = set(succeeded)
        with self._lock:
            for record in records:
                lineage, job = lineage_of(record)
                self.jobs.setdefault(lineage, job)
                if record.get("messageId") in done:
                    self.successes[lineage] += 1

    def report(
        self, dead_letters: Sequence[Mapping[str, Any]], faults: Mapping[str, int], *, finished: bool = True
    ) -> dict[str, Any]:
        """The figures, given the DLQs' messages as ``ops.peek`` describes them. A run stopped before its
        queues were idle (``finished=False``) has jobs still under way: they are ``unfinished``, not lost."""
        with self._lock:
            jobs, successes = dict(self.jobs), Counter(self.successes)
        with_reason: set[str] = set()
        without_reason: set[str] = set()
        for entry in dead_letters:
            lineage = str(entry.get("envelope_id") or entry.get("message_id"))
            jobs.setdefault(lineage, str(entry.get("job")))
            (with_reason if entry.get("failure") else without_reason).add(lineage)
        dead = with_reason | without_reason
        # a record copied to the DLQ is answered as handled: it is dead-lettered, not succeeded
        ran = {lineage: count for lineage, count in successes.items() if count and lineage not in dead}
        missing = [lineage for lineage in jobs if lineage not in ran and lineage not in dead]
        return {
            "jobs_sent": len(jobs),
            "succeeded_once": sum(1 for count in ran.values() if count == 1),
            "succeeded_more_than_once": {
                f"{jobs[lineage]} {lineage}": count for lineage, count in sorted(ran.items()) if count > 1
            },
            "dead_lettered_with_reason": len(with_reason),
            "dead_lettered_without_reason": sorted(f"{jobs[lineage]} {lineage}" for lineage in without_reason),
            "lost" if finished else "unfinished": sorted(f"{jobs[lineage]} {lineage}" for lineage in missing),
            "faults": dict(sorted(faults.items())),
        }


def report_lines(report: Mapping[str, Any]) -> list[str]:
    """The report for a person, one figure a line."""
    twice = report["succeeded_more_than_once"]
    missing = report.get("lost", report.get("unfinished", []))
    label = "lost                         " if "lost" in report else "unfinished (the run stopped)"
    faults = ", ".join(f"{name} {count}" for name, count in report["faults"].items()) or "none"
    return [
        "chaos report",
        f"  jobs sent                      {report['jobs_sent']}",
        f"  succeeded once                 {report['succeeded_once']}",
        f"  succeeded more than once       {len(twice)}" + (f": {', '.join(list(twice)[:5])}" if twice else ""),
        f"  in a DLQ with a reason         {report['dead_lettered_with_reason']}",
        f"  in a DLQ without a reason      {len(report['dead_lettered_without_reason'])}",
        f"  {label}   {len(missing)}" + (f": {', '.join(missing[:5])}" if missing else ""),
        f"  faults injected                {faults}",
    ]

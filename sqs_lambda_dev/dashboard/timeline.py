"""One job's life, in order: sent, each received attempt, backoff, retries, dead-lettered with its reason,
redriven, succeeded. A job is found by its envelope id, which its retries, hops, DLQ copy and redrives
keep.

- :func:`journal_timeline` (``sqs-lambda local``): the runtime's journal: its ``attempt`` events (function,
  request id, duration, outcome), the router's JSON log lines (they carry ``envelope_id``), the job's
  OpenTelemetry spans when the functions print them (``--otel console``: their ``sqs_lambda.lineage_id``
  is the envelope id), and the dashboard's own actions (``sent``, ``redriven``, ``deleted``, ``resent``).
- :func:`logs_timeline` (AWS): the functions' CloudWatch Logs, searched for the envelope id (the router
  logs a record that did not simply succeed; a success writes no line there), plus the dashboard's actions.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqs_lambda_dev.local.journal import read_events

ACTIONS = ("sent", "redriven", "deleted", "resent", "purged")


@dataclass
class Entry:
    time: float
    kind: str  # sent | received | succeeded | failed | retry | dead-lettered | redriven | deleted | resent | log
    summary: str
    function: str = ""
    request_id: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "kind": self.kind,
            "summary": self.summary,
            "function": self.function,
            "request_id": self.request_id,
            "details": self.details,
        }


def json_line(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _fate_entry(at: float, record: dict[str, Any], function: str = "") -> Entry:
    fate = str(record.get("fate") or "")
    error = f"{record.get('error_type', '')}: {record.get('error_message', '')}".strip(": ")
    if fate == "dead_letter":
        return Entry(at, "dead-lettered", f"dead-lettered: {error}", function, details=record)
    if fate == "retry":
        wait = record.get("retry_in_seconds")
        return Entry(
            at,
            "retry",
            f"retry in {wait} s: {error}" if wait is not None else f"retry: {error}",
            function,
            details=record,
        )
    if fate:
        return Entry(at, fate.replace("_", "-"), f"{fate}: {error}", function, details=record)
    return Entry(at, "log", str(record.get("message", "")), function, details=record)


def journal_timeline(path: Path, envelope_id: str) -> list[Entry]:
    """The job's entries from the journal, in one pass (lines without the id are not parsed)."""
    needle = envelope_id.encode()
    entries: list[Entry] = []
    message_ids: set[str] = set()
    dead_lettered: set[tuple[str, int]] = set()  # (message id, attempt) the router copied to the DLQ
    sent_at: list[float] = []
    for event in read_events(path, accept=lambda line: needle in line):  # other jobs' lines stay unparsed
        kind = event.get("event")
        at = float(event.get("time") or 0)
        if kind == "attempt" and event.get("envelope_id") == envelope_id:
            message_ids.add(str(event.get("message_id")))
            if event.get("sent_at"):
                sent_at.append(float(event["sent_at"]))
            entries.append(
                Entry(
                    at - float(event.get("duration_ms") or 0) / 1000,
                    "received",
                    f"received by {event.get('function')} from {event.get('queue')} "
                    f"(attempt {event.get('receive_count')}): {event.get('outcome')}, "
                    f"{float(event.get('duration_ms') or 0):.0f} ms"
                    + (f" ({event['problem']})" if event.get("problem") else ""),
                    str(event.get("function") or ""),
                    str(event.get("request_id") or ""),
                    {k: event.get(k) for k in ("queue", "message_id", "receive_count", "outcome", "duration_ms")},
                )
            )
            if event.get("outcome") == "succeeded":
                entries.append(
                    Entry(
                        at,
                        "succeeded",
                        "succeeded",
                        str(event.get("function") or ""),
                        str(event.get("request_id") or ""),
                        {"message_id": event.get("message_id")},
                    )
                )
        elif kind in ACTIONS and event.get("envelope_id") == envelope_id:
            entries.append(Entry(at, str(kind), str(event.get("summary") or kind), details=_public(event)))
        elif kind == "log":
            record = json_line(str(event.get("line", "")))
            if record is not None and (record.get("attributes") or {}).get("sqs_lambda.lineage_id") == envelope_id:
                entries.append(span_entry(record, str(event.get("function") or "")))
            elif record is not None and record.get("envelope_id") == envelope_id:
                entry = _fate_entry(at, record, str(event.get("function") or ""))
                entries.append(entry)
                if entry.kind == "dead-lettered":
                    dead_lettered.add((str(record.get("message_id")), int(record.get("attempt") or 0)))
    if not any(entry.kind == "sent" for entry in entries) and sent_at:
        entries.append(Entry(min(sent_at), "sent", "sent"))
    # A record the router copied to the DLQ is reported done to Lambda: that attempt did not succeed.
    entries = [
        entry for entry in entries if not (entry.kind == "succeeded" and _attempt_of(entries, entry) in dead_lettered)
    ]
    for entry in entries:
        attempt = (str(entry.details.get("message_id")), int(entry.details.get("receive_count") or 0))
        if entry.kind == "received" and attempt in dead_lettered:
            entry.summary = entry.summary.replace(": succeeded,", ": sent to the DLQ,")
            entry.details["outcome"] = "dead_lettered"
    return sorted(entries, key=lambda entry: (entry.time, _ORDER.get(entry.kind, 5)))


def span_entry(span: dict[str, Any], function: str) -> Entry:
    """An OpenTelemetry span as the console exporter prints it (JSON), as a timeline entry."""
    import datetime as dt

    def moment(text: Any) -> float:
        try:
            return dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
        except ValueError:
            return 0.0

    started, ended = moment(span.get("start_time")), moment(span.get("end_time"))
    attributes = span.get("attributes") or {}
    context = span.get("context") or {}
    outcome = attributes.get("sqs_lambda.outcome")
    summary = f"{span.get('name')}" + (f": {outcome}" if outcome else "") + f", {(ended - started) * 1000:.0f} ms"
    details = {"trace_id": context.get("trace_id"), "span_id": context.get("span_id"), "attributes": attributes}
    return Entry(
        started, "span", f"{summary} (trace {str(context.get('trace_id', ''))[2:]})", function, details=details
    )


_ORDER = {"sent": 0, "redriven": 1, "resent": 1, "received": 2, "retry": 3, "dead-lettered": 3, "succeeded": 4}


def _attempt_of(entries: Sequence[Entry], succeeded: Entry) -> tuple[str, int]:
    """(message id, receive count) of the attempt a ``succeeded`` entry closes."""
    for entry in entries:
        if (
            entry.kind == "received"
            and entry.request_id == succeeded.request_id
            and (entry.details.get("message_id") == succeeded.details.get("message_id"))
        ):
            return str(entry.details.get("message_id")), int(entry.details.get("receive_count") or 0)
    return "", 0


def _public(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key not in ("event", "time")}


def logs_timeline(
    logs: Any, log_groups: Sequence[str], envelope_id: str, *, journal: Path | None = None
) -> list[Entry]:
    """The job's entries from CloudWatch Logs (``FilterLogEvents`` on each group, the last 14 days, at
    most 1,000 lines) and this dashboard's journal of actions."""
    import time

    entries: list[Entry] = []
    for group in log_groups:
        token: str | None = None
        seen = 0
        while seen < 1000:
            request: dict[str, Any] = {
                "logGroupName": group,
                "filterPattern": f'"{envelope_id}"',
                "startTime": int((time.time() - 14 * 86400) * 1000),
            }
            if token:
                request["nextToken"] = token
            try:
                response = logs.filter_log_events(**request)
            except Exception:
                break  # a group that does not exist (the function never ran) or no permission
            for event in response.get("events", []):
                seen += 1
                record = json_line(str(event.get("message", "")).split("\t")[-1].strip())
                if record is not None and record.get("envelope_id") == envelope_id:
                    entries.append(_fate_entry(event["timestamp"] / 1000, record, group.rsplit("/", 1)[-1]))
            token = response.get("nextToken")
            if not token:
                break
    if journal is not None:
        entries.extend(entry for entry in journal_timeline(journal, envelope_id) if entry.kind in ACTIONS)
    return sorted(entries, key=lambda entry: (entry.time, _ORDER.get(entry.kind, 5)))

"""The reason a DLQ copy carries: ``failure.*`` message attributes, and reading them back.

A poison message is copied to its DLQ with its original body and attributes plus the reason
(``failure.error_type``, ``failure.error_message``, ``failure.attempts``, ``failure.source_queue``,
``failure.job``, ``failure.failed_at``, ``failure.decision``), folded into one ``failure`` JSON
attribute when the message already has too many attributes (SQS allows 10).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any

from ..wire.codec import dumps, loads

MAX_ATTRIBUTES = 10


def failure_reason(
    error: BaseException | None, *, attempts: int, source_queue: str, job: str | None, why: str, max_message: int = 512
) -> dict[str, str]:
    """The reason a DLQ copy carries, as the values of its ``failure.*`` attributes."""
    message = str(error) if error is not None else why
    if len(message) > max_message:
        message = message[: max_message - 1] + "…"
    return {
        "error_type": type(error).__name__ if error is not None else "Unknown",
        "error_message": message or why,
        "attempts": str(attempts),
        "source_queue": source_queue,
        "job": job or "-",
        "failed_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "decision": why,
    }


FAILURE_PREFIX = "failure."


def with_failure_attributes(
    attributes: Mapping[str, Mapping[str, Any]], reason: Mapping[str, str]
) -> dict[str, dict[str, Any]]:
    """The original attributes plus the failure reason (``failure.*``), within SQS's 10-attribute limit.

    Attributes from an earlier failure are replaced. When there is no room for one attribute per
    field, the reason is folded into a single ``failure`` attribute holding JSON.
    """
    kept = {
        name: dict(value)
        for name, value in attributes.items()
        if not (name == "failure" or name.startswith(FAILURE_PREFIX))
    }
    if len(kept) + len(reason) <= MAX_ATTRIBUTES:
        for name, value in reason.items():
            kept[FAILURE_PREFIX + name] = {"DataType": "String", "StringValue": value}
    elif len(kept) < MAX_ATTRIBUTES:
        kept["failure"] = {"DataType": "String", "StringValue": dumps(dict(reason))}
    return kept


def read_failure(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The failure reason a DLQ copy carries, from attributes in SendMessage/ReceiveMessage shape."""

    def text(value: Mapping[str, Any]) -> str:
        return str(value.get("StringValue", value.get("stringValue", "")))

    if "failure" in attributes:
        folded = loads(text(attributes["failure"]))
        return {str(k): str(v) for k, v in folded.items()} if isinstance(folded, dict) else {}
    return {
        name[len(FAILURE_PREFIX) :]: text(value)
        for name, value in attributes.items()
        if name.startswith(FAILURE_PREFIX)
    }


def strip_failure(attributes: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The attributes without the failure reason (what a redrive sends back)."""
    return {
        name: dict(value)
        for name, value in attributes.items()
        if not (name == "failure" or name.startswith(FAILURE_PREFIX))
    }

"""Celery (kombu's SQS transport, protocol 2): base64 of a JSON envelope whose ``headers.task`` names
the task and whose body is ``[args, kwargs, embed]``; only the JSON content type is read."""

from __future__ import annotations

import base64
from typing import Any

from ...errors import DecodeError, PickleRejectedError
from .. import codec
from .foreign import ForeignJob


def base64_json(text: str) -> Any:
    try:
        return codec.loads(base64.b64decode(text, validate=True))
    except Exception:
        return None


def celery(value: dict[str, Any], message_id: str | None) -> ForeignJob:
    headers = value["headers"]
    task = str(headers.get("task"))
    content_type = str(value.get("content-type") or "application/json")
    if content_type != "application/json":
        raise PickleRejectedError(
            f"Celery message with content-type {content_type!r}: only JSON is accepted, "
            "pickle payloads are never unpickled",
            message_id=message_id,
            job=task,
        )
    inner: Any = value.get("body")
    if (value.get("properties") or {}).get("body_encoding") == "base64":
        inner = base64_json(str(inner))
    elif isinstance(inner, str):
        inner = codec.loads(inner)
    if not (isinstance(inner, list) and len(inner) >= 2 and isinstance(inner[0], list) and isinstance(inner[1], dict)):
        raise DecodeError("Celery body is not [args, kwargs, embed] (protocol 2)", message_id=message_id, job=task)
    properties = value.get("properties") or {}
    correlation = properties.get("correlation_id") or headers.get("id")
    return ForeignJob(
        "celery",
        task,
        inner[0],
        inner[1],
        id=str(headers.get("id") or message_id or ""),
        context={"correlation_id": correlation} if correlation else None,
        not_before=headers.get("eta"),
        expires=headers.get("expires"),
    )

"""sqs-workers (Doist): body = the kwargs JSON; ``JobName``, ``ContentType``, ``JobContext`` attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...errors import DecodeError, PickleRejectedError
from .. import codec
from ..records import string_attribute
from .foreign import ForeignJob


def sqs_workers(record: Mapping[str, Any], message_id: str | None) -> ForeignJob:
    job = string_attribute(record, "JobName")
    content_type = string_attribute(record, "ContentType") or "json"
    if content_type != "json":
        raise PickleRejectedError(
            f"sqs-workers message with ContentType {content_type!r}: pickle payloads are "
            "never unpickled; send it with codec='json'",
            message_id=message_id,
            job=job,
        )
    try:
        kwargs = codec.loads(record.get("body") or "")
        raw_context = string_attribute(record, "JobContext")
        context = codec.loads(raw_context) if raw_context else None
    except Exception as error:
        raise DecodeError(f"sqs-workers message is not valid JSON: {error}", message_id=message_id, job=job) from None
    if not isinstance(kwargs, dict):
        raise DecodeError("sqs-workers body must be a JSON object of keyword arguments", message_id=message_id, job=job)
    return ForeignJob(
        "sqs_workers", str(job), (), kwargs, id=message_id or "", context=context if isinstance(context, dict) else None
    )

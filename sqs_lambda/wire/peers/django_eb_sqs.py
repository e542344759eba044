"""django-eb-sqs: JSON with ``func`` (a dotted path, mapped through aliases, never imported), ``args``
and ``kwargs``; ``pickle: true`` is refused."""

from __future__ import annotations

from typing import Any

from ...errors import DecodeError, PickleRejectedError
from .foreign import ForeignJob


def django_eb_sqs(value: dict[str, Any], message_id: str | None) -> ForeignJob:
    func = str(value.get("func"))
    if value.get("pickle"):
        raise PickleRejectedError(
            "django-eb-sqs message with pickle: true: pickle payloads are never unpickled",
            message_id=message_id,
            job=func,
        )
    args, kwargs = value.get("args") or [], value.get("kwargs") or {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise DecodeError("django-eb-sqs args must be a list and kwargs an object", message_id=message_id, job=func)
    return ForeignJob("django_eb_sqs", func, args, kwargs, id=str(value.get("id") or message_id or ""))

"""Peers' wire formats: what sqs-workers, Celery and django-eb-sqs producers already send.

With :mod:`sqs_lambda.envelope`, the only code that parses message bodies. A router opts in per format
(``Router(accept=[...])``); :func:`decode_any` then recognises each record's format and returns our
:class:`~sqs_lambda.envelope.Envelope`, a :class:`ForeignJob` (positional arguments still to be mapped
onto the handler's signature), or a :class:`~sqs_lambda.envelope.RawBody`.

- sqs-workers: body = the kwargs JSON; ``JobName``, ``ContentType``, ``JobContext`` message attributes.
- Celery (kombu SQS transport, protocol 2): base64 of a JSON envelope whose ``headers.task`` names the
  task and whose body is ``[args, kwargs, embed]``; ``eta`` and ``expires`` are honoured.
- django-eb-sqs: JSON with ``func`` (a dotted path, mapped through ``Router(aliases=...)``, never
  imported), ``args`` and ``kwargs``.

Pickle is never unpickled: sqs-workers' pickle codecs, Celery's non-JSON content types and
django-eb-sqs's ``pickle: true`` raise :class:`PickleRejectedError` (non-retryable: to the DLQ).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as _dt
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from . import codec
from . import envelope as wire
from .errors import DecodeError, PickleRejectedError, UnknownJobError
from .records import string_attribute

__all__ = ["ForeignJob", "PickleRejectedError", "decode_any", "looks_like_pickle", "to_envelope"]


class ForeignJob:
    """A job from a peer's format: positional ``args`` are mapped by the handler's signature."""

    __slots__ = ("args", "context", "expires", "fmt", "id", "job", "kwargs", "not_before")

    def __init__(
        self,
        fmt: str,
        job: str,
        args: Sequence[Any],
        kwargs: Mapping[str, Any],
        *,
        id: str = "",
        context: Mapping[str, Any] | None = None,
        not_before: str | None = None,
        expires: str | None = None,
    ) -> None:
        self.fmt, self.job, self.args, self.kwargs, self.id = fmt, job, list(args), dict(kwargs), id
        self.context, self.not_before, self.expires = dict(context or {}) or None, not_before, expires


def decode_any(
    accept: Sequence[str], record: Mapping[str, Any], message_id: str | None
) -> wire.Envelope | wire.RawBody | ForeignJob:
    """Recognise the record's format among those accepted (see the module docstring)."""
    body = record.get("body")
    if "sqs_workers" in accept and string_attribute(record, "JobName"):  # type: ignore[arg-type]
        return _guarded("sqs-workers", _sqs_workers, record, message_id)
    decoded = wire.decode(body, message_id=message_id)
    if isinstance(decoded, wire.Envelope):
        return decoded
    value = decoded.value
    if decoded.is_json and isinstance(value, dict):
        if "django_eb_sqs" in accept and "func" in value and ("args" in value or "kwargs" in value):
            return _guarded("django-eb-sqs", _django_eb_sqs, value, message_id)
        if "celery" in accept and isinstance(value.get("headers"), dict) and "task" in value["headers"]:
            return _guarded("Celery", _celery, value, message_id)
    if not decoded.is_json and "celery" in accept:
        unwrapped = _base64_json(str(value))
        if isinstance(unwrapped, dict) and isinstance(unwrapped.get("headers"), dict):
            return _guarded("Celery", _celery, unwrapped, message_id)
    return decoded


def _guarded(fmt: str, decoder: Any, value: Any, message_id: str | None) -> ForeignJob:
    """A peer's message whose fields have unexpected shapes is a DecodeError (to the DLQ), not a crash."""
    try:
        return decoder(value, message_id)
    except DecodeError:
        raise
    except Exception as error:
        raise DecodeError(f"malformed {fmt} message: {type(error).__name__}: {error}", message_id=message_id) from None


def looks_like_pickle(body: str | None) -> bool:
    """A body that is a pickle, base64 of one, or base64 of a zlib-compressed one (sqs-workers)."""
    if not body:
        return False
    candidates = [body.encode("latin-1", "replace")]
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            candidates.append(decode(body + "=" * (-len(body) % 4)))
        except (binascii.Error, ValueError):
            continue
    for data in list(candidates):
        with contextlib.suppress(zlib.error):
            candidates.append(zlib.decompress(data))
    return any(data[:1] == b"\x80" and 0 < data[1:2][0] <= 5 for data in candidates if len(data) > 2)


def _sqs_workers(record: Mapping[str, Any], message_id: str | None) -> ForeignJob:
    job = string_attribute(record, "JobName")  # type: ignore[arg-type]
    content_type = string_attribute(record, "ContentType") or "json"  # type: ignore[arg-type]
    if content_type != "json":
        raise PickleRejectedError(
            f"sqs-workers message with ContentType {content_type!r}: pickle payloads are "
            "never unpickled; send it with codec='json'",
            message_id=message_id,
            job=job,
        )
    try:
        kwargs = codec.loads(record.get("body") or "")
        raw_context = string_attribute(record, "JobContext")  # type: ignore[arg-type]
        context = codec.loads(raw_context) if raw_context else None
    except Exception as error:
        raise DecodeError(f"sqs-workers message is not valid JSON: {error}", message_id=message_id, job=job) from None
    if not isinstance(kwargs, dict):
        raise DecodeError("sqs-workers body must be a JSON object of keyword arguments", message_id=message_id, job=job)
    return ForeignJob(
        "sqs_workers", str(job), (), kwargs, id=message_id or "", context=context if isinstance(context, dict) else None
    )


def _django_eb_sqs(value: dict[str, Any], message_id: str | None) -> ForeignJob:
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


def _base64_json(text: str) -> Any:
    try:
        return codec.loads(base64.b64decode(text, validate=True))
    except Exception:
        return None


def _celery(value: dict[str, Any], message_id: str | None) -> ForeignJob:
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
        inner = _base64_json(str(inner))
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


def to_envelope(
    foreign: ForeignJob,
    positional: Sequence[str],
    aliases: Mapping[str, str],
    known: Sequence[str],
    message_id: str | None,
) -> tuple[wire.Envelope, dict[str, Any]]:
    """Map a foreign job onto a registered job: alias the name, positional args by signature. Returns the
    envelope (for context, deferral and hops) and the keyword arguments."""
    from .errors import JobArgumentError, Reject

    job = aliases.get(foreign.job, foreign.job)
    if job not in known:
        hint = " (map it with Router(aliases={...}))" if foreign.fmt in ("django_eb_sqs", "celery") else ""
        raise UnknownJobError(
            f"no job named {foreign.job!r} is registered{hint}", message_id=message_id, job=foreign.job
        )
    if foreign.not_before is not None:
        wire.read_time(foreign.not_before, "eta", message_id=message_id, job=job)
    if foreign.expires:
        expires = wire.read_time(foreign.expires, "expires", message_id=message_id, job=job)
        if expires < _dt.datetime.now(_dt.UTC):
            raise Reject(f"the {foreign.fmt} task expired at {foreign.expires}")
    if len(foreign.args) > len(positional):
        raise JobArgumentError(
            f"{len(foreign.args)} positional arguments, but the handler takes {len(positional)}",
            message_id=message_id,
            job=job,
        )
    kwargs = dict(zip(positional, foreign.args, strict=False))
    clash = set(kwargs) & set(foreign.kwargs)
    if clash:
        raise JobArgumentError(f"arguments given twice: {sorted(clash)}", message_id=message_id, job=job)
    kwargs.update(foreign.kwargs)
    envelope = wire.Envelope(
        sqs_lambda=wire.VERSION,
        job=job,
        id=foreign.id,
        # encoded only for a deferred task, whose next hop carries them; otherwise they are validated as
        # the values they already are
        kwargs=wire.encode_kwargs(job, kwargs) if foreign.not_before is not None else wire.EMPTY_KWARGS,
        context=foreign.context,
        not_before=foreign.not_before,
    )
    return envelope, kwargs

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

import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any

from .. import envelope as wire
from ..errors import DecodeError, PickleRejectedError, UnknownJobError
from ..records import string_attribute
from .celery import base64_json, celery
from .django_eb_sqs import django_eb_sqs
from .foreign import ForeignJob
from .pickles import looks_like_pickle
from .sqs_workers import sqs_workers

__all__ = ["ForeignJob", "PickleRejectedError", "decode_any", "looks_like_pickle", "to_envelope"]


def decode_any(
    accept: Sequence[str], record: Mapping[str, Any], message_id: str | None
) -> wire.Envelope | wire.RawBody | ForeignJob:
    """Recognise the record's format among those accepted (see the module docstring)."""
    body = record.get("body")
    if "sqs_workers" in accept and string_attribute(record, "JobName"):  # type: ignore[arg-type]
        return _guarded("sqs-workers", sqs_workers, record, message_id)
    decoded = wire.decode(body, message_id=message_id)
    if isinstance(decoded, wire.Envelope):
        return decoded
    value = decoded.value
    if decoded.is_json and isinstance(value, dict):
        if "django_eb_sqs" in accept and "func" in value and ("args" in value or "kwargs" in value):
            return _guarded("django-eb-sqs", django_eb_sqs, value, message_id)
        if "celery" in accept and isinstance(value.get("headers"), dict) and "task" in value["headers"]:
            return _guarded("Celery", celery, value, message_id)
    if not decoded.is_json and "celery" in accept:
        unwrapped = base64_json(str(value))
        if isinstance(unwrapped, dict) and isinstance(unwrapped.get("headers"), dict):
            return _guarded("Celery", celery, unwrapped, message_id)
    return decoded


def _guarded(fmt: str, decoder: Any, value: Any, message_id: str | None) -> ForeignJob:
    """A peer's message whose fields have unexpected shapes is a DecodeError (to the DLQ), not a crash."""
    try:
        return decoder(value, message_id)
    except DecodeError:
        raise
    except Exception as error:
        raise DecodeError(f"malformed {fmt} message: {type(error).__name__}: {error}", message_id=message_id) from None


def to_envelope(
    foreign: ForeignJob,
    positional: Sequence[str],
    aliases: Mapping[str, str],
    known: Sequence[str],
    message_id: str | None,
) -> tuple[wire.Envelope, dict[str, Any]]:
    """Map a foreign job onto a registered job: alias the name, positional args by signature. Returns the
    envelope (for context, deferral and hops) and the keyword arguments."""
    from ..errors import JobArgumentError, Reject

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

"""Peers' wire formats: what sqs-workers, Celery and django-eb-sqs producers already send.

With :mod:`sqs_lambda.wire.envelope`, the only code that parses message bodies. A router opts in per format
(``Router(accept=[...])``); :func:`decode_any` then recognises each record's format and returns our
:class:`~sqs_lambda.wire.envelope.Envelope`, a :class:`ForeignJob` (positional arguments still to be mapped
onto the handler's signature), or a :class:`~sqs_lambda.wire.envelope.RawBody`.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import DecodeError, PickleRejectedError, UnknownJobError
from .. import envelope as wire
from ..records import string_attribute
from .celery import base64_json, celery
from .django_eb_sqs import django_eb_sqs
from .foreign import ForeignJob
from .pickles import looks_like_pickle
from .sqs_workers import sqs_workers

__all__ = [
    "FORMATS",
    "PEERS",
    "ForeignJob",
    "PeerFormat",
    "PickleRejectedError",
    "decode_any",
    "looks_like_pickle",
    "to_envelope",
]


@dataclass(frozen=True, slots=True)
class PeerFormat:
    """One peer's format: ``claim`` returns the part of a record its ``decode`` reads, or None when the
    record is not in this format. ``claim`` sees the record and its body decoded as ours (None for a
    format told by its attributes, which is asked before the body is decoded)."""

    label: str
    claim: Callable[[Mapping[str, Any], wire.RawBody | None], Any]
    decode: Callable[[Any, str | None], ForeignJob]
    by_attributes: bool = False


def _sqs_workers_claim(record: Mapping[str, Any], _: wire.RawBody | None) -> Any:
    return record if string_attribute(record, "JobName") else None


def _django_eb_sqs_claim(_: Mapping[str, Any], body: wire.RawBody | None) -> Any:
    value = body.value if body is not None and body.is_json else None
    return value if isinstance(value, dict) and "func" in value and ("args" in value or "kwargs" in value) else None


def _celery_claim(_: Mapping[str, Any], body: wire.RawBody | None) -> Any:
    if body is None:
        return None
    value = body.value if body.is_json else base64_json(str(body.value))  # kombu's SQS transport: base64
    return (
        value
        if isinstance(value, dict)
        and isinstance(value.get("headers"), dict)
        and (not body.is_json or "task" in value["headers"])
        else None
    )


# name (as ``Router(accept=...)`` spells it) -> format; tried in this order
PEERS: dict[str, PeerFormat] = {
    "sqs_workers": PeerFormat("sqs-workers", _sqs_workers_claim, sqs_workers, by_attributes=True),
    "django_eb_sqs": PeerFormat("django-eb-sqs", _django_eb_sqs_claim, django_eb_sqs),
    "celery": PeerFormat("Celery", _celery_claim, celery),
}
FORMATS = ("sqs_lambda", *PEERS)  # every name a router accepts


def decode_any(
    accept: Sequence[str], record: Mapping[str, Any], message_id: str | None
) -> wire.Envelope | wire.RawBody | ForeignJob:
    """Recognise the record's format among those accepted (see the module docstring)."""
    accepted = [peer for name, peer in PEERS.items() if name in accept]
    for peer in accepted:
        if peer.by_attributes and (claimed := peer.claim(record, None)) is not None:
            return _guarded(peer.label, peer.decode, claimed, message_id)
    decoded = wire.decode(record.get("body"), message_id=message_id)
    if isinstance(decoded, wire.Envelope):
        return decoded
    for peer in accepted:
        if not peer.by_attributes and (claimed := peer.claim(record, decoded)) is not None:
            return _guarded(peer.label, peer.decode, claimed, message_id)
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
    from ...errors import JobArgumentError, Reject

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

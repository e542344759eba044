"""The wire format: the one module that turns jobs into SQS bodies and bodies back into jobs.

An envelope is a JSON object (documented in the README, "Wire format")::

    {"sqs_lambda": 1, "id": "<hex uuid>", "job": "process_file", "kwargs": {"file_id": "42"},
     "sent_at": "2026-11-23T10:00:00.000000Z", "context": {"request_id": "abc"},
     "not_before": "2026-11-23T12:00:00Z", "hops": 0}

``sqs_lambda`` is the envelope version and the marker that tells an envelope from foreign JSON; only
``sqs_lambda`` and ``job`` are required. The job name is also sent as the ``job`` message attribute so
that consoles and FilterCriteria can see it.

Contract:
- :func:`encode` accepts JSON types plus datetime/date (ISO 8601), Decimal, UUID, Enum, dataclasses and
  pydantic models; anything else raises :class:`EncodeError` naming the argument. Never pickle.
- :func:`decode` returns an :class:`Envelope`, or a :class:`RawBody` for foreign JSON (raw routes), and
  raises :class:`DecodeError` for a body that is not JSON, an envelope without a job name, or a version
  newer than :data:`VERSION`.
- :func:`decode_arguments` validates an envelope's kwargs against a job's schema while decoding them.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Mapping
from typing import Any, TypedDict, Unpack

import msgspec

from ..errors import DecodeError, EncodeError, JobArgumentError, UnsupportedVersionError
from . import codec

VERSION = 1
MARKER = "sqs_lambda"
JOB_ATTRIBUTE = "job"
EMPTY_KWARGS = msgspec.Raw(b"{}")


class Envelope(msgspec.Struct, kw_only=True):
    """A decoded envelope. ``kwargs`` stays raw JSON until the job's schema decodes it."""

    sqs_lambda: int
    job: str = ""
    id: str = ""
    kwargs: msgspec.Raw = EMPTY_KWARGS
    sent_at: str | None = None
    context: dict[str, Any] | None = None
    not_before: str | None = None
    hops: int = 0
    sig: str | None = None

    def not_before_time(self) -> _dt.datetime | None:
        """The not-before time as an aware datetime, or None (see the long-delay hops)."""
        return parse_time(self.not_before) if self.not_before else None


class RawBody(msgspec.Struct):
    """A body that is not an envelope: ``value`` is the parsed JSON, or the text when ``is_json`` is false."""

    value: Any
    is_json: bool = True


_envelope_decoder = msgspec.json.Decoder(Envelope)


def new_envelope_id() -> str:
    """32 random hex digits (as ``uuid4().hex``, without importing uuid at cold start)."""
    return os.urandom(16).hex()


def format_time(moment: _dt.datetime) -> str:
    return moment.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> _dt.datetime:
    moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)


def read_time(value: Any, field: str, *, message_id: str | None = None, job: str | None = None) -> _dt.datetime:
    """A time a message carries (``not_before``, Celery's ``eta``/``expires``), or a DecodeError naming it."""
    if isinstance(value, str):
        try:
            return parse_time(value)
        except ValueError:
            pass
    shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:59] + "…"
    raise DecodeError(f"malformed envelope: {field} {shown} is not an ISO 8601 time", message_id=message_id, job=job)


def encode_kwargs(job: str, kwargs: Mapping[str, Any]) -> msgspec.Raw:
    """Encode a job's keyword arguments, naming the first argument that cannot be encoded."""
    try:
        return msgspec.Raw(codec.encoder.encode(kwargs))
    except (NotImplementedError, TypeError, OverflowError):
        for name, value in kwargs.items():
            if not isinstance(name, str):
                raise EncodeError(f"job {job!r}: argument names must be strings, got {name!r}") from None
            codec.encode_value(value, what=f"job {job!r}, argument {name!r}")
        raise


class EnvelopeFields(TypedDict, total=False):
    """The optional fields of an envelope being written (see the README's wire format)."""

    envelope_id: str | None
    context: Mapping[str, Any] | None
    not_before: _dt.datetime | str | None
    hops: int
    sent_at: _dt.datetime | str | None
    sign: Any  # maps the unsigned canonical bytes to a signature


def encode(job: str, kwargs: Mapping[str, Any] | msgspec.Raw, **fields: Unpack[EnvelopeFields]) -> tuple[str, str]:
    """Return ``(body, envelope_id)`` for one job."""
    body, envelope_id = encode_bytes(job, kwargs, **fields)
    return body.decode(), envelope_id


def encode_bytes(
    job: str, kwargs: Mapping[str, Any] | msgspec.Raw, **options: Unpack[EnvelopeFields]
) -> tuple[bytes, str]:
    """:func:`encode`, with the body as the bytes SQS counts. ``kwargs`` already encoded (a ``msgspec.Raw``
    from :func:`encode_kwargs`) are embedded as they are, never encoded again."""
    envelope_id = options.get("envelope_id")
    context, not_before = options.get("context"), options.get("not_before")
    hops, sent_at, sign = options.get("hops", 0), options.get("sent_at"), options.get("sign")
    raw_kwargs = kwargs if isinstance(kwargs, msgspec.Raw) else encode_kwargs(job, kwargs)
    envelope_id = envelope_id or new_envelope_id()
    now = sent_at if sent_at is not None else _dt.datetime.now(_dt.UTC)
    fields: dict[str, Any] = {
        MARKER: VERSION,
        "id": envelope_id,
        "job": job,
        "kwargs": raw_kwargs,
        "sent_at": now if isinstance(now, str) else format_time(now),
    }
    if context:
        fields["context"] = dict(context)
    if not_before is not None:
        fields["not_before"] = not_before if isinstance(not_before, str) else format_time(not_before)
    if hops:
        fields["hops"] = hops
    try:
        body = codec.encoder.encode(fields)
    except (NotImplementedError, TypeError) as error:
        raise EncodeError(f"job {job!r}: context cannot be encoded: {error}", argument="context") from None
    if sign is not None:
        fields["sig"] = sign(_canonical(fields))
        body = codec.encoder.encode(fields)
    return body, envelope_id


def rehop(envelope: Envelope, sign: Any = None) -> str:
    """The same envelope (same id, same kwargs) with one more hop, for long delays (re-signed if signed)."""
    body, _ = encode(
        envelope.job,
        envelope.kwargs,
        envelope_id=envelope.id,
        context=envelope.context,
        not_before=envelope.not_before,
        hops=envelope.hops + 1,
        sent_at=envelope.sent_at,
        sign=sign,
    )
    return body


_canonical_encoder = msgspec.json.Encoder(order="sorted")


def _canonical(fields: Mapping[str, Any]) -> bytes:
    """What a signature covers: every field but ``sig`` (absent ones and ``hops: 0`` left out), keys
    sorted at every level; ``kwargs`` as the exact bytes that travel."""
    kept = {k: v for k, v in fields.items() if k != "sig" and v is not None and not (k == "hops" and v == 0)}
    return _canonical_encoder.encode(kept)


def signing_payload(envelope: Envelope) -> bytes:
    """The canonical bytes of a received envelope (see :mod:`sqs_lambda.wire.signing`)."""
    return _canonical({f: getattr(envelope, f) for f in envelope.__struct_fields__})


def decode(body: str | bytes | None, *, message_id: str | None = None) -> Envelope | RawBody:
    """Decode a message body. See the module docstring for what is rejected."""
    if body is None:
        raise DecodeError("the record has no body", message_id=message_id)
    try:
        envelope = _envelope_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _decode_slow(body, message_id)
    if not 1 <= envelope.sqs_lambda <= VERSION:
        raise _unsupported(envelope.sqs_lambda, message_id)
    if not envelope.job:
        raise DecodeError("the envelope has no job name", message_id=message_id)
    if envelope.not_before is not None:
        read_time(envelope.not_before, "not_before", message_id=message_id, job=envelope.job)
    return envelope


def _unsupported(version: int, message_id: str | None) -> UnsupportedVersionError:
    if version > VERSION:
        reason = f"envelope version {version} is newer than this sqs-lambda understands ({VERSION})"
    else:
        reason = f"envelope version {version} does not exist (versions start at 1; this sqs-lambda reads {VERSION})"
    return UnsupportedVersionError(reason, message_id=message_id)


def _decode_slow(body: str | bytes, message_id: str | None) -> Envelope | RawBody:
    try:
        value = codec.any_decoder.decode(body)
    except msgspec.DecodeError:
        text = body if isinstance(body, str) else body.decode("utf-8", "replace")
        return RawBody(text, is_json=False)
    if not (isinstance(value, dict) and MARKER in value):
        return RawBody(value)
    version = value.get(MARKER)
    if isinstance(version, int) and not isinstance(version, bool) and not 1 <= version <= VERSION:
        raise _unsupported(version, message_id)
    if not value.get("job"):
        raise DecodeError("the envelope has no job name", message_id=message_id)
    try:
        envelope = msgspec.convert(value, Envelope)
    except msgspec.ValidationError as error:
        raise DecodeError(f"malformed envelope: {error}", message_id=message_id) from None
    if envelope.not_before is not None:
        read_time(envelope.not_before, "not_before", message_id=message_id, job=envelope.job)
    return envelope


def decode_arguments(envelope: Envelope, decoder: msgspec.json.Decoder[Any], *, message_id: str | None = None) -> Any:
    """Decode and validate the envelope's kwargs with a job's schema decoder."""
    try:
        return decoder.decode(envelope.kwargs)
    except (msgspec.ValidationError, msgspec.DecodeError) as error:
        raise JobArgumentError(f"invalid arguments: {error}", message_id=message_id, job=envelope.job) from None


def convert_arguments(job: str, kwargs: Mapping[str, Any] | msgspec.Raw, decoder: msgspec.json.Decoder[Any]) -> Any:
    """Validate in-process kwargs (``.run()`` and producer-side checks) exactly as a consumer would.

    Pass the kwargs already encoded (``encode_kwargs``) when they are about to be sent: encode once."""
    raw = kwargs if isinstance(kwargs, msgspec.Raw) else encode_kwargs(job, kwargs)
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as error:
        raise JobArgumentError(f"invalid arguments: {error}", job=job) from None


def job_attributes(job: str) -> dict[str, dict[str, str]]:
    """The message attributes that go with an envelope (SendMessage shape)."""
    return {JOB_ATTRIBUTE: {"DataType": "String", "StringValue": job}}


def message_size(
    body: str, attributes: Mapping[str, Mapping[str, Any]] | None = None, *, body_size: int | None = None
) -> int:
    """The size SQS counts: the body plus every attribute's name, type and value, in bytes.

    ``body_size``: the body's length in bytes when the caller has it (it encoded the body)."""
    size = body_size if body_size is not None else len(body.encode())
    for name, attribute in (attributes or {}).items():
        value = attribute.get("StringValue", attribute.get("BinaryValue", b""))
        size += len(name.encode()) + len(str(attribute.get("DataType", "")).encode())
        size += len(value) if isinstance(value, bytes) else len(str(value).encode())
    return size


# The characters SQS accepts in a body or a string attribute (anything else is refused, entry by entry):
# #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
_REFUSED_BY_SQS = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def refused_character(text: str) -> tuple[int, str] | None:
    """(position, character) of the first character SQS refuses in ``text``, or None."""
    found = _REFUSED_BY_SQS.search(text)
    return (found.start(), found.group()) if found else None


def check_content(body: str, attributes: Mapping[str, Mapping[str, Any]] | None = None, *, entry: str) -> None:
    """Raise :class:`~sqs_lambda.errors.InvalidMessageContentError` naming ``entry``, the part and the
    position of the first character SQS would refuse."""
    from ..errors import InvalidMessageContentError

    parts = [("body", body)] + [
        (f"attribute {name!r}", str(value["StringValue"]))
        for name, value in (attributes or {}).items()
        if "StringValue" in value
    ]
    for part, text in parts:
        refused = refused_character(text)
        if refused is not None:
            position, character = refused
            raise InvalidMessageContentError(
                f"{entry}: its {part} holds {character!r} (U+{ord(character):04X}) at position {position}, "
                "a character SQS refuses"
            )

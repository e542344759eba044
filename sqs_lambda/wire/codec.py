"""The package's JSON rules: one encoder and one parser, used by the wire format and everything else.

Encodes JSON types plus datetime/date (ISO 8601), Decimal (a string), UUID, Enum, dataclasses and
pydantic models (without importing pydantic); anything else raises :class:`EncodeError` naming it.
Never pickle. :func:`decode_hook` builds pydantic models when an argument schema asks for one.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import EncodeError


def _enc_hook(value: Any) -> Any:
    dump = getattr(value, "model_dump", None)  # pydantic v2 models, without importing pydantic
    if callable(dump):
        return dump(mode="json")
    raise NotImplementedError(f"cannot encode {type(value).__module__}.{type(value).__qualname__}")


encoder = msgspec.json.Encoder(enc_hook=_enc_hook, decimal_format="string")
any_decoder = msgspec.json.Decoder()


def encode_value(value: Any, *, what: str = "value") -> bytes:
    """Encode one JSON value, naming ``what`` when it cannot be encoded."""
    try:
        return encoder.encode(value)
    except (NotImplementedError, TypeError, OverflowError) as error:
        raise EncodeError(
            f"{what}: {error}. Pass JSON types, datetime, Decimal, UUID, Enum, dataclasses or pydantic models",
            argument=what,
        ) from None


def dumps(value: Any) -> str:
    """Encode any JSON value (raw bodies, attribute payloads) as text."""
    return encode_value(value).decode()


def loads(text: str | bytes) -> Any:
    """Parse JSON text. The one parser everything else in the package uses."""
    return any_decoder.decode(text)


def decode_hook(kind: type, value: Any) -> Any:
    """Builds the types msgspec does not know natively (pydantic models)."""
    validate = getattr(kind, "model_validate", None)
    if callable(validate):
        try:
            return validate(value)
        except ValueError as error:  # pydantic's ValidationError is a ValueError
            raise msgspec.ValidationError(str(error).replace("\n", " ")) from None
    raise NotImplementedError(f"unsupported type {kind!r}")

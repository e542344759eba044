"""Signed envelopes: HMAC-SHA256 over the envelope's canonical form.

``Router(signing_key=...)`` rejects unsigned or forged envelopes to the DLQ; ``Producer(signing_key=...)``
signs. A key is ``str``/``bytes``, a list of keys (rotation: sign with the first, accept any), or a
loader: :func:`from_env`, :func:`from_ssm`, :func:`from_secrets_manager` (loaded lazily, cached per
container; a loader may return one key or a comma-separated list).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from .. import settings
from ..errors import SignatureError
from . import envelope as wire

KeySource = str | bytes | Sequence[str | bytes] | Callable[[], Any]
_cache: weakref.WeakKeyDictionary[Callable[[], Any], list[bytes]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _as_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode()


def keys(source: KeySource) -> list[bytes]:
    """The key list a source stands for (loaders are called once and cached)."""
    if callable(source):
        cached = _cache.get(source)  # per loader object, for as long as it lives
        if cached is None:
            with _lock:
                loaded = source()
                values = loaded.split(",") if isinstance(loaded, str) else loaded
                cached = _cache[source] = keys(values)
        return cached
    if isinstance(source, (str, bytes)):
        return [_as_bytes(source)]
    return [_as_bytes(key) for key in source if key]


def sign(key: bytes, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).decode().rstrip("=")


def signer_for(source: KeySource) -> Callable[[bytes], str]:
    """What the producer passes to :func:`envelope.encode`: sign with the first (newest) key."""
    first = keys(source)[0]
    return lambda payload: sign(first, payload)


def verify(source: KeySource, envelope: wire.Envelope, message_id: str | None) -> None:
    """Raise SignatureError unless the envelope carries a signature from one of the keys."""
    if not envelope.sig:
        raise SignatureError(
            "the envelope is not signed, and this router requires signed envelopes",
            message_id=message_id,
            job=envelope.job,
        )
    payload = wire.signing_payload(envelope)
    for key in keys(source):
        if hmac.compare_digest(sign(key, payload), envelope.sig):
            return
    raise SignatureError(
        "the signature matches none of the keys (forged, altered, or signed with an unknown key)",
        message_id=message_id,
        job=envelope.job,
    )


def from_env(variable: str) -> Callable[[], str]:
    def load() -> str:
        value = settings.current().variable(variable)
        if not value:
            raise SignatureError(f"the signing key variable {variable} is not set")
        return value

    return load


def from_ssm(name: str) -> Callable[[], str]:
    """A SecureString parameter (needs ssm:GetParameter and kms:Decrypt)."""

    def load() -> str:
        from .. import aws

        return str(aws.client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])

    return load


def from_secrets_manager(secret_id: str) -> Callable[[], str]:
    """A secret's string value (needs secretsmanager:GetSecretValue)."""

    def load() -> str:
        from .. import aws

        return str(aws.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])

    return load

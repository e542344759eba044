"""Pickle payloads are recognised, and refused unread: unpickling runs arbitrary code."""

from __future__ import annotations

import base64
import binascii
import contextlib
import zlib


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

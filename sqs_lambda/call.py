"""A call: one record made ready to run. The dispatcher builds it, :mod:`sqs_lambda.consuming.invoke` runs it,
the failure policy reads its job's policy. It depends on nothing but the envelope and the policy types."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from .consuming.policy import JobPolicy
from .wire import envelope as wire


class Call(msgspec.Struct, gc=False):
    """The target, its arguments, and what the policy needs to know.

    A msgspec struct: one is built per record, and its constructor runs in C."""

    name: str
    target: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = msgspec.field(default_factory=dict)
    context: Mapping[str, Any] | None = None
    is_async: bool = False
    policy: JobPolicy | None = None
    envelope: wire.Envelope | None = None
    payload: Any = None  # the S3 pointer the body came from (deleted once the job succeeds)

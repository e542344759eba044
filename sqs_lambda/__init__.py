"""sqs-lambda: run SQS jobs on AWS Lambda.

``Router`` consumes (inside Lambda), ``Producer`` enqueues, ``Retry``/``Reject`` and :mod:`backoff`
steer the failure policy. Importing this package never imports boto3: AWS clients load lazily, on the
paths that need them (backoff, DLQ, producer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import _moved
from .consuming import backoff
from .context import context, current_context
from .errors import (
    DecodeError,
    EncodeError,
    JobArgumentError,
    MessageError,
    MessageTooLargeError,
    RecordFailed,
    Reject,
    Retry,
    SendError,
    UnknownJobError,
)
from .router import Router

if TYPE_CHECKING:
    from .producing.producer import Producer

_moved.install()  # the 0.2 module paths (sqs_lambda.envelope...) still import

__version__ = "0.2.0"

__all__ = [
    "DecodeError",
    "EncodeError",
    "JobArgumentError",
    "MessageError",
    "MessageTooLargeError",
    "Producer",
    "RecordFailed",
    "Reject",
    "Retry",
    "Router",
    "SendError",
    "UnknownJobError",
    "backoff",
    "context",
    "current_context",
]


def __getattr__(name: str) -> Any:
    if name == "Producer":  # the producer module is light too, but only producers need it
        from .producing.producer import Producer

        return Producer
    raise AttributeError(f"module 'sqs_lambda' has no attribute {name!r}")

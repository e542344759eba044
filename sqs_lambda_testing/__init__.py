"""The test kit for users' own tests: event builders, an in-memory queue, and pytest fixtures.

The fixtures (``sqs_local``, ``sqs_queue``, ``sqs_lambda_router``) come from the pytest plugin this
package registers; everything else is importable from here.
"""

from typing import Any

from sqs_lambda_dev.events import LambdaContext, queue_arn, scheduled_event, sqs_event, sqs_record
from sqs_lambda_testing.memory import DrainResult, InMemoryQueue, StoredMessage, drain


def lambda_context(remaining_ms: int = 30_000, *, sqs: Any = "memory", **fields: Any) -> LambdaContext:
    """A Lambda context whose remaining time counts down from ``remaining_ms``.

    It carries an SQS port for the invocation: a fresh :class:`InMemoryQueue` by default
    (``context.sqs_backend``), so a poison record's DLQ copy, a backoff or a delay hop lands there and a
    unit test never reaches AWS. A router given a port of its own keeps it. ``sqs=None`` carries none,
    for an invocation whose failure policy should reach the endpoint the environment names (the
    ``sqs_local`` fixture's engine)."""
    backend = InMemoryQueue() if sqs == "memory" else sqs
    return LambdaContext(remaining_ms=remaining_ms, sqs_backend=backend, **fields)


__all__ = [
    "DrainResult",
    "InMemoryQueue",
    "LambdaContext",
    "StoredMessage",
    "drain",
    "lambda_context",
    "queue_arn",
    "scheduled_event",
    "sqs_event",
    "sqs_record",
]

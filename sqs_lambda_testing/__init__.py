"""The test kit for users' own tests: event builders, an in-memory queue, and pytest fixtures.

The fixtures (``sqs_local``, ``sqs_queue``, ``sqs_lambda_router``) come from the pytest plugin this
package registers; everything else is importable from here.
"""

from sqs_lambda_dev.events import LambdaContext, lambda_context, queue_arn, scheduled_event, sqs_event, sqs_record
from sqs_lambda_testing.memory import DrainResult, InMemoryQueue, StoredMessage, drain

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

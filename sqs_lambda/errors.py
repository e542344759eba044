"""Exceptions: what handlers raise on purpose, and what the library raises about bad input.

Every error about a message names the message and the reason. ``retryable`` says its fate: a
retryable error leaves the message in the queue for another attempt, a non-retryable one sends it to
the dead-letter queue at once (see :mod:`sqs_lambda.consuming.policy`).
"""

from __future__ import annotations

from typing import Any


class SqsLambdaError(Exception):
    """Base class of the library's own errors."""

    retryable = True


class Retry(Exception):
    """Raised by a handler to retry the message on purpose, optionally after ``delay`` seconds.

    It is logged at INFO, not as an error, and counts as an attempt toward ``max_retries``.
    """

    def __init__(self, reason: str = "retry requested", *, delay: int | None = None) -> None:
        super().__init__(reason)
        if delay is not None and not 0 <= delay <= 43_200:
            raise ValueError(f"Retry delay must be 0-43200 seconds (SQS visibility limit), got {delay}")
        self.delay = delay


class Reject(Exception):
    """Raised by a handler when the message can never succeed: it goes straight to the DLQ.

    ``job`` names the job when the library raises it before the job runs (a Django row gone)."""

    retryable = False

    def __init__(self, *args: object, job: str | None = None) -> None:
        super().__init__(*args)
        self.job = job


class MessageError(SqsLambdaError):
    """A message that cannot be handled as it is. ``message_id`` names it; ``str()`` says why."""

    retryable = False

    def __init__(self, reason: str, *, message_id: str | None = None, job: str | None = None) -> None:
        self.reason = reason
        self.message_id = message_id
        self.job = job
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.message_id:  # not a message yet (the producer's checks): name the job, if any
            return f"job {self.job!r}: {self.reason}" if self.job else self.reason
        where = f"message {self.message_id}"
        if self.job:
            where += f" (job {self.job!r})"
        return f"{where}: {self.reason}"

    def for_message(self, message_id: str) -> MessageError:
        """Return the same error, naming ``message_id``."""
        self.message_id = message_id
        self.args = (self._render(),)
        return self


class DecodeError(MessageError):
    """The body is not something this router understands (not JSON, bad envelope, pickle...)."""


class UnsupportedVersionError(DecodeError):
    """The envelope was written by a newer sqs-lambda than this one."""


class UnknownJobError(MessageError):
    """No job is registered under the envelope's job name."""


class NoRouteError(MessageError):
    """A raw (non-envelope) body matched no raw route."""


class JobArgumentError(MessageError, TypeError):
    """The arguments do not fit the handler's signature or type hints."""


class PickleRejectedError(DecodeError):
    """A pickle payload: refused unread (unpickling runs arbitrary code)."""


class SignatureError(DecodeError):
    """A signed router received an unsigned or forged envelope."""


class EncodeError(SqsLambdaError, TypeError):
    """An argument cannot be put on the wire. ``argument`` names it."""

    retryable = False

    def __init__(self, message: str, *, argument: str | None = None) -> None:
        super().__init__(message)
        self.argument = argument


class MessageTooLargeError(SqsLambdaError, ValueError):
    """The encoded message (body + attributes) is larger than the queue accepts."""

    retryable = False

    def __init__(self, size: int, limit: int, what: str = "message") -> None:
        super().__init__(f"{what} is {size:,} bytes; the queue accepts at most {limit:,} bytes")
        self.size = size
        self.limit = limit


class InvalidMessageContentError(SqsLambdaError, ValueError):
    """A body or string attribute holds a character SQS refuses (``InvalidMessageContents``): sending it
    again cannot succeed."""

    retryable = False


class ConfigurationError(SqsLambdaError, ValueError):
    """The router, producer or template is set up in a way that cannot work."""

    retryable = False


class SendError(SqsLambdaError):
    """One or more messages were not sent. ``failed`` lists every unsent entry with its error."""

    def __init__(self, failed: list[dict[str, Any]]) -> None:
        self.failed = failed
        lines = [f"{len(failed)} message(s) were not sent:"]
        lines += [f"  {f.get('Id', '?')}: {f.get('Code', '')} {f.get('Message', '')}".rstrip() for f in failed]
        super().__init__("\n".join(lines))


class RecordFailed(SqsLambdaError):
    """``router.record_handler``: the record is to be reported in ``batchItemFailures`` (its failure was
    logged, and its backoff set, by the router's failure policy)."""

    def __init__(self, message_id: str | None) -> None:
        super().__init__(f"message {message_id or '(no messageId)'}: failed; reported for a retry")
        self.message_id = message_id

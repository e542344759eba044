"""The consumer: what ``router.lambda_handler`` runs for an invocation, by Lambda's rules.

:meth:`Consumer.handle`'s contract:

- An SQS event's records go through one :class:`~sqs_lambda.consuming.batch.Batch` (FIFO rules, the time cut-off,
  the failure policy; see :mod:`sqs_lambda.consuming.batch`), which answers ``{"batchItemFailures": [...]}``
  naming only ids from the batch, each at most once and never empty. Every record failing returns every
  id (the default) or raises Powertools' ``BatchProcessingError`` with
  ``Router(raise_on_entire_batch_failure=True)``.
- An event without ``Records`` is a direct invocation: it goes to the raw routes (EventBridge events).
  ``Records: []`` and malformed events never raise; a bug of ours reports every record failed.
- The batch's SQS port: the one passed in (worker mode, the test kit's ``drain``), else the router's own,
  else the one the invocation's context carries (the test kit's), else boto3's defaults.

**Why it owns its loop.** It used to subclass Powertools' ``BasePartialBatchProcessor`` and override
``process()``, keeping none of the per-record hooks: FIFO rules, the cut-off and the failure policy are
ours. Importing Powertools' batch package (with asyncio and its event data classes) was most of a
function's cold start, for a loop we did not use (``benchmarks/README.md`` has the numbers). One
pipeline remains, in :mod:`sqs_lambda.consuming.batch`: prepare, invoke, settle, finish.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from .. import observe, settings
from ..context import INVOCATION
from ..errors import NoRouteError
from ..wire import envelope as wire
from ..wire import records as rec
from .batch import Batch, ConsumerSettings
from .invoke import invoke_now

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend
    from .dispatch import Dispatcher

__all__ = ["Consumer", "ConsumerSettings"]


class Consumer:
    """Consumes SQS batches for a dispatcher: ``handle(event, context)`` is the Lambda handler."""

    def __init__(self, dispatcher: Dispatcher, settings: ConsumerSettings, backend: SqsBackend | None = None) -> None:
        self.dispatcher = dispatcher
        self.settings = settings
        self._backend = backend
        self._default: SqsBackend | None = None

    @property
    def backend(self) -> SqsBackend:
        """The SQS port the effects go through; boto3's defaults unless set (built on first use)."""
        return self.backend_for(None)

    @backend.setter
    def backend(self, backend: SqsBackend) -> None:
        self._backend = backend

    def backend_for(self, context: Any) -> SqsBackend:
        """The port for one invocation: the one this consumer was given; else the one the invocation's
        context carries (``sqs_backend``: the test kit's in-memory queue, so a unit test never reaches
        AWS); else boto3's defaults (built on first use)."""
        if self._backend is not None:
            return self._backend
        carried = getattr(context, "sqs_backend", None)
        if carried is not None:
            return cast("SqsBackend", carried)
        if self._default is None:
            from ..aws.sqs import default_backend

            self._default = default_backend()
        return self._default

    def handle(self, event: Any, context: Any = None, *, port: SqsBackend | None = None) -> dict[str, Any]:
        """Handle one Lambda invocation (see the module docstring). ``port``, when given, is the SQS port
        of this invocation's effects (worker mode passes its heartbeat-aware one)."""
        settings.expire()  # each invocation reads its configuration afresh (lazily: unused costs nothing)
        if not isinstance(event, dict):
            observe.log_loudly("the event is not an object; nothing to process", event_type=type(event).__name__)
            return {"batchItemFailures": []}
        records = event.get("Records")
        if records is None:
            return self._handle_direct(event)
        if not isinstance(records, list) or not records:
            return {"batchItemFailures": []}
        invocation = INVOCATION.set(context)
        try:
            return Batch(
                self.settings, self.dispatcher, records, context, port or (lambda: self.backend_for(context))
            ).run()
        except Exception as error:
            if error.__class__.__name__ == "BatchProcessingError":
                raise  # asked for with raise_on_entire_batch_failure=True
            # a bug of ours must not fail the invocation: retry every record
            observe.log_loudly(
                "the batch could not be processed; every record is reported failed",
                error_type=type(error).__name__,
                error_message=str(error)[:500],
            )
            ids = dict.fromkeys(i for i in map(rec.message_id, records) if i is not None)
            return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}
        finally:
            INVOCATION.reset(invocation)

    def _handle_direct(self, event: dict[str, Any]) -> dict[str, Any]:
        """A direct invocation (e.g. an EventBridge rule targeting the function): run the matching raw route.

        A matching handler's exception propagates, so Lambda's async retries apply. No match is logged.
        """
        try:
            call = self.dispatcher.raw_call(wire.RawBody(event), None)
        except NoRouteError as error:
            observe.log_loudly(
                "a direct invocation matched no raw route",
                reason=error.reason,
                keys=sorted(str(k) for k in event)[:20],
            )
            return {"batchItemFailures": []}
        failure = invoke_now(call)
        if failure is not None:
            raise failure
        return {"batchItemFailures": []}

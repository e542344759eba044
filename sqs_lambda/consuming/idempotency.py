"""Effectively-once jobs: one run per key, through Powertools' Idempotency utility.

Imported only when a job registered with ``idempotent=True`` runs (:mod:`sqs_lambda.consuming.invoke` calls
:func:`run_once`); nothing of Powertools' idempotency is loaded otherwise.

Contract, for one run of an idempotent job:
- the key is ``sqs-lambda.<job>#<hash>`` of the envelope id (the SQS message id for a message without
  one), or of what the job's ``idempotency_key`` returns for its arguments; it is kept in the DynamoDB
  table that ``SQS_LAMBDA_IDEMPOTENCY_TABLE`` names, for ``expires_after`` seconds (default: the queue's
  retention period);
- no key yet: the job runs; a success marks the key ``COMPLETED``, a failure deletes it (Powertools'
  own behaviour), so the retry runs;
- ``COMPLETED``: the job does not run, the record succeeds, and an INFO line says so;
- ``INPROGRESS`` (a first run still going in another invocation): :class:`~sqs_lambda.Retry`, so the
  record comes back after its backoff, never a second concurrent run. The Lambda context is registered,
  so an in-progress key expires with the invocation that holds it;
- no table configured, or the table failing: an error, so the record is retried (and reaches the DLQ
  with that reason after ``max_retries``); the job never runs unguarded. A key function that returns
  nothing is a bug of the job: the record goes to the DLQ.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import observe, otel
from .. import settings as _settings  # `settings` names an Idempotency below
from ..context import INVOCATION
from ..errors import ConfigurationError, Retry
from ..wire import records as rec

if TYPE_CHECKING:
    from ..aws.sqs import SqsBackend
    from ..call import Call
    from .policy import Idempotency

TABLE_VARIABLE = _settings.IDEMPOTENCY_TABLE
KEY_PREFIX = "sqs-lambda"


class IdempotencyUnavailable(RuntimeError):
    """No idempotency table to use: retried (a deploy that sets the table fixes it), never run unguarded."""


_lock = threading.Lock()
_stores: dict[tuple[str, str, int], Any] = {}  # (table, job, expiry) -> (persistence layer, config)


def table_name() -> str:
    table = _settings.current().idempotency_table
    if not table:
        raise IdempotencyUnavailable(f"an idempotent job needs a DynamoDB table: set {TABLE_VARIABLE}")
    return table


def _expiry(settings: Idempotency, record: Any, port: Callable[[], SqsBackend] | None) -> int:
    """How long a key is kept: the job's ``expires_after``, else its queue's retention, read through the
    batch's SQS port (the router's configured one; boto3's defaults only when there is none)."""
    if settings.expires_after is not None:
        return settings.expires_after
    from ..aws.sqs import DEFAULT_RETENTION, default_backend

    arn = rec.source_arn(record) if isinstance(record, dict) else None
    if not arn:
        return DEFAULT_RETENTION
    try:
        return (port or default_backend)().queue_info(arn=arn).retention
    except Exception:  # the queue cannot be read: remember keys as long as SQS keeps messages by default
        return DEFAULT_RETENTION


def _store(job: str, expires_after: int) -> tuple[Any, Any]:
    """Powertools' persistence layer and config for one job (one per expiry: Powertools configures a
    layer once)."""
    table = table_name()
    key = (table, job, expires_after)
    found = _stores.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return,unused-ignore]
    with _lock:
        if key not in _stores:
            from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

            from .. import aws

            layer = DynamoDBPersistenceLayer(table_name=table, boto3_client=aws.client("dynamodb"))
            _stores[key] = (layer, IdempotencyConfig(expires_after_seconds=expires_after))
        return _stores[key]  # type: ignore[no-any-return,unused-ignore]


def key_value(call: Call, record: Any) -> str:
    """What identifies one run of ``call``: its ``idempotency_key`` result, else the envelope id."""
    settings = call.policy.idempotency if call.policy is not None else None
    if settings is not None and settings.key is not None:
        value = settings.key_of(call.kwargs)
        if value is None or value == "":
            raise ConfigurationError(f"job {call.name!r}: its idempotency_key returned {value!r}")
        return str(value)
    if call.envelope is not None and call.envelope.id:
        return call.envelope.id
    message_id = rec.message_id(record) if isinstance(record, dict) else None
    if not message_id:
        raise ConfigurationError(f"job {call.name!r}: no envelope id or message id to key it by")
    return message_id


def run_once(call: Call, record: Any, port: Callable[[], SqsBackend] | None = None) -> None:
    """Run ``call`` unless its key says it already ran (see the module docstring). Synchronous: an
    ``async def`` job runs in an event loop of its own (see :func:`run_once_async`)."""
    from aws_lambda_powertools.utilities.idempotency.base import IdempotencyHandler
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

    settings = call.policy.idempotency if call.policy is not None else None
    assert settings is not None
    key = key_value(call, record)
    layer, config = _store(call.name, _expiry(settings, record, port))
    lambda_context = INVOCATION.get()
    if lambda_context is not None:
        config.register_lambda_context(lambda_context)
    ran = False

    def job() -> None:
        nonlocal ran
        ran = True
        result = call.target(*call.args, **call.kwargs)
        if result is not None and inspect.isawaitable(result):
            asyncio.run(_awaiting(result))
        # The job's return value is not kept: jobs return nothing a duplicate could reuse.

    job.__qualname__ = call.name
    handler = IdempotencyHandler(
        function=job,
        function_payload={"key": key},
        config=config,
        persistence_store=layer,
        key_prefix=f"{KEY_PREFIX}.{call.name}",
        function_args=(),
        function_kwargs={},
    )
    try:
        with otel.child("idempotency check", **{"sqs_lambda.job": call.name}):
            handler.handle()
    except IdempotencyAlreadyInProgressError:
        raise Retry(f"another run of {call.name!r} with this idempotency key is in progress") from None
    if not ran:
        otel.mark_current("sqs_lambda.outcome", "skipped_duplicate")
        observe.log_info(
            "duplicate skipped: this job already ran for its idempotency key",
            job=call.name,
            message_id=rec.message_id(record) if isinstance(record, dict) else None,
        )


async def run_once_async(call: Call, record: Any, port: Callable[[], SqsBackend] | None = None) -> None:
    """:func:`run_once` for an ``async def`` job inside a running loop: Powertools' handler is
    synchronous, so it runs in a worker thread, and the job in a loop of that thread."""
    await asyncio.to_thread(run_once, call, record, port)


async def _awaiting(result: Any) -> Any:
    return await result

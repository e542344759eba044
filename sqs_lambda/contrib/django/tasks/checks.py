"""Django system checks for an ``SQSLambdaBackend`` (``manage.py check``; ``--deploy`` also reads the
results table, which needs the endpoint and the grants)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def backend_checks(backend: Any, *, deploy: bool = False) -> Iterator[Any]:
    from django.core import checks

    where = f"TASKS[{backend.alias!r}]"
    for queue_name in sorted(backend.queues):
        if queue_name not in backend.queue_map:
            yield checks.Error(
                f"{where}: task queue {queue_name!r} has no SQS queue",
                hint=f"map it in {where}['OPTIONS']['queues'], e.g. {{{queue_name!r}: 'jobs'}}",
                id="sqs_lambda.E001",
            )
    try:
        store = backend.store
    except Exception as error:  # a bad OPTIONS["results"]
        yield checks.Error(f"{where}: {error}", id="sqs_lambda.E002")
        return
    if store is None:
        return
    problems = store.problems() if deploy or backend.results_kind == "database" else _offline(store)
    for problem in problems:
        yield checks.Error(f"{where}: {problem}", id="sqs_lambda.E003")


def _offline(store: Any) -> list[str]:
    """What can be told without reaching AWS: the table's name is set."""
    try:
        _ = store.table_name
    except Exception as error:
        return [str(error)]
    return []

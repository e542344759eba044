"""The cost of Django's task layer per record, against the same function as a plain router job, in one run.

    python benchmarks/task_layer.py [--records 200] [--rounds 9]

Each variant runs an SQS event of ``--records`` records through a router's ``lambda_handler`` (no SQS
calls on the success path):

- router job: ``@router.job() def add(a, b)``, the baseline;
- task, no results: the same function as a ``django.tasks`` task (``OPTIONS["results"] = None``): the
  task layer alone (the middleware, a ``TaskResult`` per attempt, Django's signals, ``Task.call``);
- task, database results: SQLite through the app's model (two writes per record);
- task, DynamoDB results: the embedded engine's DynamoDB over HTTP on 127.0.0.1 (two ``UpdateItem`` per
  record); against AWS each is a network round trip (not measured here).

Medians per record, and ratios to the router job.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import median, repeat, table

from sqs_lambda import Router
from sqs_lambda_testing import sqs_event


def configure(endpoint: str, database: str) -> None:
    import django
    from django.conf import settings

    backend = "sqs_lambda.contrib.django.tasks.SQSLambdaBackend"
    options: dict[str, Any] = {"queues": {"default": "bench"}, "modules": ["_tasks_app"]}
    backport = ["django_tasks"] if django.VERSION < (6, 0) else []
    settings.configure(
        INSTALLED_APPS=[*backport, "sqs_lambda.contrib.django"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": database}},
        USE_TZ=True,
        SQS_LAMBDA={"ENDPOINT_URL": endpoint, "REGION": "us-east-1"},
        TASKS={
            "default": {"BACKEND": backend, "OPTIONS": {**options, "results": None}},
            "database": {"BACKEND": backend, "OPTIONS": {**options, "results": "database"}},
            "dynamodb": {"BACKEND": backend, "OPTIONS": {**options, "results": "dynamodb", "table": "bench-results"}},
        },
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    options = parser.parse_args()
    from sqs_lambda_dev.engine.moto_server import EmbeddedEngine  # the embedded engine, as the tests use it

    engine = EmbeddedEngine()
    engine.start()
    try:
        from sqs_lambda_testing.sqs import LocalSqs

        LocalSqs(engine.url).create_idempotency_table("bench-results")  # key `id`, as the results need
        configure(engine.url, str(Path(tempfile.mkdtemp()) / "bench.sqlite3"))
        run(options.records, options.rounds)
    finally:
        engine.stop()


def run(records: int, rounds: int) -> None:
    import _tasks_app

    from sqs_lambda.contrib.django.tasks.running import task_router

    plain = Router()
    plain.job("add")(lambda a, b: a + b)
    tasks = task_router(Router())
    kwargs = [{"a": n, "b": 1} for n in range(records)]
    events = {
        "router job": (plain, sqs_event(*[("add", k) for k in kwargs])),
        "task, no results": (tasks, sqs_event(*[(_tasks_app.add_none.module_path, k) for k in kwargs])),
        "task, database results": (tasks, sqs_event(*[(_tasks_app.add_database.module_path, k) for k in kwargs])),
        "task, DynamoDB results": (tasks, sqs_event(*[(_tasks_app.add_dynamodb.module_path, k) for k in kwargs])),
    }
    variants = {name: (lambda r=router, e=event: r.lambda_handler(e, None)) for name, (router, event) in events.items()}
    for check in variants.values():  # warm up, and every record succeeds
        assert check() == {"batchItemFailures": []}
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, variant in variants.items():
            samples[name] += repeat(variant, 1)
    per_record = {name: median(times) / records for name, times in samples.items()}
    print(table(f"{records} records per event, {rounds} rounds", "µs/record", per_record, "router job", 1e6))


if __name__ == "__main__":
    main()

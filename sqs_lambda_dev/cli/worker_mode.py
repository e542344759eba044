"""``sqs-lambda worker``: the router as a long-running poller."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from sqs_lambda_dev.cli import app, with_target


@app.command()
@with_target
def worker(
    router: Annotated[str, typer.Argument(help="The router, as MODULE:ATTRIBUTE (e.g. myapp.jobs:router).")],
    queue: Annotated[str, typer.Option(help="Queue name (with --stage's prefix), URL or local logical id.")],
    concurrency: Annotated[int, typer.Option(help="Poller threads, each with its own batches.")] = 1,
    processes: Annotated[int, typer.Option(help="Worker processes (for CPU-bound jobs).")] = 1,
    batch_size: Annotated[int, typer.Option(help="Messages per batch (received 10 at a time).")] = 10,
    wait: Annotated[int, typer.Option(help="Long-poll seconds (0-20).")] = 20,
    shutdown: Annotated[
        str, typer.Option(help="never, idle:SECONDS, after:N, or several joined by | (first wins).")
    ] = "never",
    grace: Annotated[float, typer.Option(help="Seconds in-flight jobs get to finish on SIGTERM.")] = 30,
    health_port: Annotated[int | None, typer.Option(help="Serve GET / for health checks on this port.")] = None,
    target: Any = None,
) -> None:
    """Run ROUTER as a long-running poller of --queue: the same path as in Lambda, for containers."""
    import os

    from sqs_lambda.worker import Shutdown, Worker, load_router, serve_processes
    from sqs_lambda_dev.endpoints import queue_url

    sys.path.insert(0, os.getcwd())  # MODULE is found from here, as celery -A does
    url = queue_url(target, queue)
    options: dict[str, Any] = {
        "concurrency": concurrency,
        "batch_size": batch_size,
        "wait": wait,
        "shutdown": Shutdown.parse(shutdown),
        "grace": grace,
        "health_port": health_port,
    }
    backend = target.backend
    if processes > 1:
        code = serve_processes(router, url, processes, backend.config, **options)
    else:
        code = Worker(load_router(router), url, backend=backend, **options).run()
    raise typer.Exit(code)

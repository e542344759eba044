"""Worker mode: the router fed by a long-running poller (:mod:`.poller`), with its heartbeat
(:mod:`.heartbeat`) and shutdown policies (:mod:`.shutdown`). ``python -m sqs_lambda.worker`` runs it."""

from __future__ import annotations

from .heartbeat import HeartbeatAwareBackend, Heartbeats
from .poller import (
    RUNNING_DEADLINE_MS,
    Worker,
    WorkerContext,
    add_arguments,
    load_router,
    main,
    options_from,
    serve_processes,
)
from .shutdown import Shutdown

__all__ = [
    "RUNNING_DEADLINE_MS",
    "HeartbeatAwareBackend",
    "Heartbeats",
    "Shutdown",
    "Worker",
    "WorkerContext",
    "add_arguments",
    "load_router",
    "main",
    "options_from",
    "serve_processes",
]

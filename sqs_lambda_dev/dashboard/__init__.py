"""The job inspector: a web dashboard for queues, DLQs and each job's life, locally and on AWS.

Pages (server-rendered, refreshed in place with a vendored htmx): the overview (``/``), a queue
(``/queues/<name>``: peeked messages, redrive, delete, edit and resend, purge, send), a job's timeline
(``/jobs/<envelope id>``) and, locally, the functions (``/functions``); the JSON API under ``/api/``
(see the README). Modules, one concern each: :mod:`.board` (the overview's rows), :mod:`.history`
(the last hour), :mod:`.timeline`, :mod:`.actions`, :mod:`.forms`, :mod:`.security`, :mod:`.inspector`
(the wiring), :mod:`.app` (the routes), :mod:`.server` (uvicorn).

Nothing here is imported by the runtime package or the layer (an architecture test says so).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqs_lambda_dev.dashboard.server import DashboardServer
    from sqs_lambda_dev.local.runtime import LocalRuntime


def serve_local(runtime: LocalRuntime, *, port: int = 0, refresh_seconds: float = 2.0) -> DashboardServer:
    """Start the inspector of a started local runtime on 127.0.0.1, in a thread; its actions are events
    of the runtime (journalled, and printed with ``--json``)."""
    from sqs_lambda_dev.dashboard.app import create_app
    from sqs_lambda_dev.dashboard.inspector import for_local
    from sqs_lambda_dev.dashboard.server import DashboardServer
    from sqs_lambda_dev.endpoints import template_routers

    @functools.cache
    def routers() -> dict[str, Any]:
        return template_routers(runtime.template, runtime.resources.queue_urls)

    inspector = for_local(
        runtime.backend,
        lambda: list(runtime.resources.queue_urls.values()),
        runtime.options.state_dir,
        routers,
        record=runtime.on_event,
    )
    server = DashboardServer(create_app(inspector, refresh_seconds=refresh_seconds), port=port)
    server.start()
    return server

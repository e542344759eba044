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
    of the runtime (journalled, and printed with ``--json``). The send form's jobs are read by a probe
    per consuming function, a process with the function's code and environment (:mod:`.probe`)."""
    from sqs_lambda_dev.dashboard.app import create_app
    from sqs_lambda_dev.dashboard.inspector import for_local
    from sqs_lambda_dev.dashboard.probe import Probe, ProbedRouter
    from sqs_lambda_dev.dashboard.server import DashboardServer
    from sqs_lambda_dev.local.environments import reserved_variables

    probes: list[Probe] = []

    @functools.cache
    def routers() -> dict[str, Any]:
        found: dict[str, Any] = {}
        for trigger in runtime.triggers.values():
            pool: Any = trigger.function
            spec = pool.spec
            region = runtime.template.region if runtime.template is not None else "us-east-1"
            environment = {
                **pool.environment,
                **spec.environment,
                **reserved_variables(spec, region=region, api_address="127.0.0.1:9"),
            }
            probe = Probe(spec.logical_id, spec.code_dir, environment)
            probes.append(probe)
            found.setdefault(trigger.config.queue_url, ProbedRouter(probe))
        return found

    inspector = for_local(
        runtime.backend,
        lambda: list(runtime.resources.queue_urls.values()),
        runtime.options.state_dir,
        routers,
        record=runtime.on_event,
    )
    server = DashboardServer(create_app(inspector, refresh_seconds=refresh_seconds), port=port)

    def close_probes() -> None:  # the probes started by then
        for probe in probes:
            probe.close()

    server.on_stop.append(close_probes)
    server.start()
    return server

"""``sqs-lambda dashboard``: the job inspector against any target (the local runtime, an endpoint, AWS)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.cli import app, err, with_target

TOKEN_VARIABLE = "SQS_LAMBDA_DASHBOARD_TOKEN"


@app.command()
@with_target
def dashboard(
    template: Annotated[Path, typer.Option(help="The SAM template whose queues to show.")] = Path("template.yaml"),
    queue_prefix: Annotated[
        str | None, typer.Option(help="Show every queue whose name starts with this (instead of the template's).")
    ] = None,
    router: Annotated[
        str | None, typer.Option(metavar="MODULE:ROUTER", help="The router whose jobs the send form offers.")
    ] = None,
    host: Annotated[str, typer.Option(help="The address to serve; beyond 127.0.0.1 a token is needed.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port (0: a free one).")] = 8377,
    read_only: Annotated[bool, typer.Option("--read-only", help="No actions: look only.")] = False,
    token: Annotated[
        str | None, typer.Option(help=f"A token every request must carry (default: ${TOKEN_VARIABLE}).")
    ] = None,
    target: Any = None,
) -> None:
    """Serve the job inspector: queues, DLQs, messages, each job's timeline; redrive, resend, purge, send."""
    from sqs_lambda_dev.dashboard.app import create_app
    from sqs_lambda_dev.dashboard.inspector import for_aws, for_local
    from sqs_lambda_dev.dashboard.security import check_bind
    from sqs_lambda_dev.dashboard.server import DashboardServer

    token = token or os.environ.get(TOKEN_VARIABLE) or None
    check_bind(host, token)
    urls, routers, log_groups = _scope(target, template, queue_prefix, router)
    state_dir = Path(".sqs-lambda")
    if target.kind == "aws":
        inspector = for_aws(target.backend, urls, state_dir, routers, log_groups, target.describe())
    else:
        inspector = for_local(target.backend, urls, state_dir, routers)
        inspector.where = target.describe()
        inspector.local = target.kind == "local"
    server = DashboardServer(
        create_app(inspector, read_only=read_only, token=token, host=host), host=host, port=port, token=token
    )
    err.print(f"job inspector: {server.link()}  (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve()


def _scope(target: Any, template: Path, queue_prefix: str | None, router: str | None) -> tuple[Any, Any, list[str]]:
    """(queue URLs, routers by queue URL, log groups) for the target."""
    import functools

    from sqs_lambda_dev.endpoints import template_routers

    if queue_prefix is not None:
        urls = lambda: target.backend.list_queues(queue_prefix)  # noqa: E731 - re-listed at each refresh
        loaded = None
    elif target.kind == "local":
        urls = lambda: list(target.state["queues"].values())  # noqa: E731
        loaded = _load(Path(target.state["template"]), target.stage)
    else:
        if not template.exists():
            raise ConfigurationError(f"{template} not found: pass --template, or --queue-prefix to list queues")
        loaded = _load(template, target.stage)
        names = [loaded.physical_name(logical) or logical for logical in loaded.of_type("AWS::SQS::Queue")]
        urls = functools.cache(lambda: [target.backend.queue_url(name) for name in names])
    custom = _import_router(router) if router else None

    @functools.cache
    def routers() -> dict[str, Any]:
        if custom is not None:
            return {url: custom for url in urls()}
        if loaded is None:
            return {}
        queue_urls = {
            logical: target.backend.queue_url(loaded.physical_name(logical) or logical)
            for logical in loaded.of_type("AWS::SQS::Queue")
        }
        return template_routers(loaded, queue_urls)

    log_groups = []
    if loaded is not None:
        log_groups = [
            f"/aws/lambda/{loaded.physical_name(logical) or logical}"
            for logical in loaded.of_type("AWS::Serverless::Function")
        ]
    return urls, routers, log_groups


def _load(template: Path, stage: str | None) -> Any:
    from sqs_lambda_dev.validate.template import load

    return load(template, stage=stage)


def _import_router(spec: str) -> Any:
    """``MODULE:ROUTER`` from the command line (the user's own flag; never from a message)."""
    import importlib
    import sys

    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(f"--router {spec!r}: write it as MODULE:ROUTER (e.g. app:router)")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigurationError(f"--router {spec!r}: cannot import {module_name} ({error})") from None
    found = getattr(module, attribute, None)
    if found is None or not hasattr(found, "jobs"):
        raise ConfigurationError(f"--router {spec!r}: {module_name} has no router named {attribute}")
    return found

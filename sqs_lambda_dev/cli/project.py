"""The project commands of ``sqs-lambda``: ``env`` (point a shell at the local runtime) and ``new``
(scaffold an app). Registered on the CLI's ``app``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer

from sqs_lambda.aws import LOCAL_REGION
from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.cli import app, err, out
from sqs_lambda_dev.engine.moto_server import ENDPOINT_VARIABLES, LOCAL_KEYS


def local_exports(state: dict[str, Any]) -> dict[str, str]:
    """The variables that point boto3, a producer, a worker or Django at the running local runtime."""
    endpoint = str(state["endpoint_url"])
    region = str(state.get("region") or LOCAL_REGION)
    exports = {name: endpoint for name in ENDPOINT_VARIABLES}
    exports |= {"AWS_REGION": region, "AWS_DEFAULT_REGION": region}
    if state.get("local_keys", True):  # an external engine's own keys stay in the shell that has them
        exports |= LOCAL_KEYS
    if state.get("stage"):
        exports["SQS_LAMBDA_STAGE"] = str(state["stage"])
    dlqs = set(state.get("dlqs") or [])
    sources = [url for logical, url in (state.get("queues") or {}).items() if logical not in dlqs]
    if len(sources) == 1:
        exports["SQS_LAMBDA_QUEUE_URL"] = str(sources[0])
    return exports


@app.command("env")
def env_command(
    state_dir: Annotated[Path, typer.Option(help="Where the local runtime keeps its state.")] = Path(".sqs-lambda"),
) -> None:
    """Print shell exports for the local runtime running here: eval "$(sqs-lambda env)"."""
    from sqs_lambda_dev.local.runtime import read_state

    state = read_state(state_dir)
    if state is None:
        raise ConfigurationError("no local runtime is running here: start one with `sqs-lambda local` here")
    for name, value in local_exports(state).items():
        out.print(f"export {name}={shlex.quote(value)}", markup=False, highlight=False, soft_wrap=True)
    err.print(f"# the local runtime at {state['endpoint_url']} (pid {state['pid']})", style="dim")


@app.command("new")
def new_command(
    path: Annotated[Path, typer.Argument(help="The directory of the new app (created; must be empty).")],
    fifo: Annotated[bool, typer.Option("--fifo", help="A FIFO queue (and DLQ).")] = False,
    django: Annotated[bool, typer.Option("--django", help="A Django worker (sqs_lambda.contrib.django).")] = False,
    layer_only: Annotated[
        bool, typer.Option("--layer-only", help="Refresh an existing app's layer with this sqs-lambda.")
    ] = False,
) -> None:
    """Create a new app: a SAM template with a queue, its DLQ and a worker, the layer, a job, a test."""
    from sqs_lambda_dev.scaffold import create

    written = create(path, fifo=fifo, django=django, layer_only=layer_only)
    for name in written:
        out.print(f"  {path / name}", markup=False, highlight=False)
    if not layer_only:
        out.print(f"next: cd {shlex.quote(str(path))} && sqs-lambda local --demo --until-idle", markup=False)

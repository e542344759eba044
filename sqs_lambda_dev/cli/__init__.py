"""The ``sqs-lambda`` command: the app, its shared options and errors. The commands live one module per
group (``local_runtime``, ``worker_mode``, ``template_doctor``, ``operations``, ``project``), thin
wrappers over the dev package.

Errors print as one line a person understands (``--debug`` shows the traceback); the exit code is 1
for a failed check or a timeout and 2 for an error.
"""

from __future__ import annotations

import enum
import functools
import inspect
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import click
import typer
from rich.console import Console

app = typer.Typer(
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: flags show as flags
    help="Run SQS jobs on AWS Lambda: local runtime, template doctor and queue operations.",
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False, soft_wrap=True)  # one error, one line
STATE: dict[str, Any] = {"debug": False, "endpoint": None}  # the chosen endpoint, named in errors

LocalFlag = Annotated[bool, typer.Option("--local", help="Use the local runtime running in this directory.")]
EndpointFlag = Annotated[str | None, typer.Option("--endpoint-url", help="Any SQS-compatible endpoint.")]
AwsFlag = Annotated[bool, typer.Option("--aws", help="Use AWS even though a local runtime runs here.")]
StageFlag = Annotated[str | None, typer.Option("--stage", help="Queue-name prefix (default: $SQS_LAMBDA_STAGE).")]
RegionFlag = Annotated[str | None, typer.Option("--region", help="AWS region (default: $AWS_REGION, the profile's).")]


class Output(enum.StrEnum):
    json = "json"
    table = "table"


OutputFlag = Annotated[Output, typer.Option("--output", "-o", help="json or table.")]
ProfileFlag = Annotated[str | None, typer.Option("--profile", help="A named profile from ~/.aws/config (AWS only).")]


def _print_version(context: typer.Context, value: bool) -> None:
    if value:
        from sqs_lambda import __version__

        out.print(f"sqs-lambda {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    STATE["debug"] = debug


def _target(
    local: bool, endpoint_url: str | None, use_aws: bool, stage: str | None, region: str | None, profile: str | None
) -> Any:
    from sqs_lambda_dev.endpoints import choose

    target = choose(
        local=local, endpoint_url=endpoint_url, use_aws=use_aws, stage=stage, region=region, profile=profile
    )
    err.print(f"target: {target.describe()}", style="dim")
    STATE["endpoint"] = target.endpoint_url or target.describe()
    return target


TARGET_OPTIONS: dict[str, tuple[Any, Any]] = {
    "local": (LocalFlag, False),
    "endpoint_url": (EndpointFlag, None),
    "aws": (AwsFlag, False),
    "stage": (StageFlag, None),
    "region": (RegionFlag, None),
    "profile": (ProfileFlag, None),
}


def with_target(command: Callable[..., None]) -> Callable[..., None]:
    """Give a command the target options (``--local``, ``--endpoint-url``, ``--aws``, ``--stage``,
    ``--region``, ``--profile``) and call it with the chosen target as ``target``: one declaration for
    every command that reaches SQS."""
    signature = inspect.signature(command, eval_str=True)
    kept = [parameter for name, parameter in signature.parameters.items() if name != "target"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
        for name, (annotation, default) in TARGET_OPTIONS.items()
    ]

    @functools.wraps(command)
    def run(
        *args: Any,
        local: bool = False,
        endpoint_url: str | None = None,
        aws: bool = False,
        stage: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        **kwargs: Any,
    ) -> None:
        command(*args, target=_target(local, endpoint_url, aws, stage, region, profile), **kwargs)

    run.__signature__ = signature.replace(parameters=kept + added)  # type: ignore[attr-defined]
    run.__annotations__ = {parameter.name: parameter.annotation for parameter in kept + added}
    return run


def parse_parameters(items: list[str] | None) -> dict[str, str]:
    """``--parameter Name=Value`` options as a dict; a malformed one is refused by name."""
    from sqs_lambda.errors import ConfigurationError

    parameters: dict[str, str] = {}
    for item in items or []:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise ConfigurationError(f"--parameter {item!r}: write it as Name=Value (e.g. --parameter Stage=dev)")
        parameters[name.strip()] = value
    return parameters


# The commands register on ``app`` in their modules: one per command group.
from sqs_lambda_dev.cli import (  # noqa: E402, F401
    dashboard,
    local_runtime,
    operations,
    project,
    template_doctor,
    worker_mode,
)

# Option and argument errors: click's, and typer's own copy of them (typer >= 0.2x vendors click).
USAGE_ERRORS = (click.exceptions.ClickException, getattr(typer, "TyperException", click.exceptions.ClickException))


def explain(error: BaseException) -> str:
    """One line for a person: what is wrong, naming the thing (no class names, no traceback)."""
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    from sqs_lambda.errors import SqsLambdaError

    endpoint = STATE.get("endpoint") or "it"
    if isinstance(error, USAGE_ERRORS):
        return " ".join(str(error.format_message()).split())
    if isinstance(error, SqsLambdaError):
        return " ".join(str(error).split())
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return "no AWS credentials found: configure them (aws configure), or use --local / --endpoint-url"
    if isinstance(error, EndpointConnectionError | ConnectionRefusedError | ConnectTimeoutError):
        return f"cannot reach the endpoint {endpoint}: is it running? ({error})"
    if isinstance(error, NoRegionError):
        return "no AWS region set: pass --region or export AWS_REGION (or use --local)"
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        code, message = str(details.get("Code", "")), str(details.get("Message", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code.isdigit() or "<" in message or not code:  # an HTML page or a bare status: not SQS at all
            return (
                f"the endpoint {endpoint} does not answer as SQS does (HTTP {status or code} to {error.operation_name})"
            )
        if "NonExistentQueue" in code or "QueueDoesNotExist" in code:
            return f"queue not found (on {endpoint})"
        return f"AWS said {code}: {' '.join(message.split())}"
    if isinstance(error, json.JSONDecodeError):
        return f"not valid JSON: {error}"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else str(error.strerror)
    return " ".join(str(error).split()) or type(error).__name__


def main() -> None:
    try:
        code = app(prog_name="sqs-lambda", standalone_mode=False)  # returns typer.Exit's code in this mode
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err.print("aborted")
        sys.exit(130)
    except Exception as error:
        if STATE["debug"] or "--debug" in sys.argv:
            raise
        err.print(f"error: {explain(error)}", markup=False)
        sys.exit(2)

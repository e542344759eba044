"""The ``sqs-lambda`` command: thin wrappers over :mod:`ops`, :mod:`validate` and :mod:`local`.

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
from pathlib import Path
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


# -- the local runtime -----------------------------------------------------------------------------


@app.command()
def local(
    template: Annotated[Path, typer.Option(help="The SAM template to run.")] = Path("template.yaml"),
    endpoint_url: EndpointFlag = None,
    stage: Annotated[str | None, typer.Option(help="Overrides the template's Stage parameter.")] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Run the demo script the template names (Metadata: SqsLambda: Demo).")
    ] = False,
    until_idle: Annotated[bool, typer.Option("--until-idle", help="Exit 0 once only DLQs hold messages.")] = False,
    fire_schedules: Annotated[
        bool, typer.Option("--fire-schedules", help="Fire every scheduled rule once at start.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Machine-readable events, one per line.")] = False,
    timeout: Annotated[float, typer.Option(help="With --until-idle: give up (exit 1) after this long.")] = 300,
    parameter: Annotated[
        list[str] | None, typer.Option(metavar="NAME=VALUE", help="A template parameter (repeatable).")
    ] = None,
    no_reload: Annotated[
        bool, typer.Option("--no-reload", help="Keep environments running old code after a change.")
    ] = False,
) -> None:
    """Run the template here: an embedded SQS endpoint, its queues, functions, triggers and schedules."""
    from sqs_lambda_dev.local.demo import load_demo
    from sqs_lambda_dev.local.display import Display
    from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions
    from sqs_lambda_dev.local.stopping import FORCED_EXIT_CODE, StopSignals

    parameters = parse_parameters(parameter)
    display = Display(json_output=json_output)
    runtime = LocalRuntime(
        RuntimeOptions(
            template=template,
            endpoint_url=endpoint_url,
            stage=stage,
            fire_schedules=fire_schedules or demo,
            parameters=parameters,
            reload=not no_reload,
        ),
        on_event=display.event,
    )
    display.on_closed = runtime.request_stop  # `sqs-lambda local | head`: the reader left
    signals = StopSignals(runtime, notify=lambda message: err.print(message, style="dim"))
    signals.install()
    idle = True
    sent: dict[str, Any] = {}
    demo_script: Any = None
    try:
        runtime.start()
        if demo:
            assert runtime.template is not None
            demo_script = load_demo(runtime.template)
            sent = demo_script.enqueue(runtime)
            display.event("info", {"message": str(sent.get("message", "demo: work enqueued"))})
        runtime.run_background()
        display.start_live(runtime)
        if until_idle:
            idle = runtime.run_until_idle(timeout=timeout)
        else:
            if not json_output:
                err.print("running; Ctrl-C stops (running invocations finish first)", style="dim")
            runtime.wait()
    finally:
        if signals.requested.is_set() and not signals.forced:
            running = runtime.running_invocations()
            err.print(
                f"stopping: {running} running invocation(s) finish first; Ctrl-C again forces the stop"
                if running
                else "stopping",
                style="dim",
            )
        runtime.drain()
        display.stop_live()
        extra = demo_script.outcome(runtime) if demo_script is not None and sent and not signals.forced else None
        if runtime.started and not signals.forced:
            display.summary(runtime, extra)
        runtime.stop()
        signals.restore()
    if signals.forced:
        raise typer.Exit(FORCED_EXIT_CODE)
    if until_idle and not idle and not signals.requested.is_set() and not display.closed:
        err.print(f"not idle after {timeout:g}s")
        raise typer.Exit(1)


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
        settings = {
            "endpoint_url": backend.endpoint_url,
            "region": backend.region,
            "credentials": backend.credentials,
            "aws_only": backend.aws_only,
            "profile": backend.profile,
        }
        code = serve_processes(router, url, processes, settings, **options)
    else:
        code = Worker(load_router(router), url, backend=backend, **options).run()
    raise typer.Exit(code)


# -- the template doctor ---------------------------------------------------------------------------


@app.command()
def validate(
    template: Annotated[Path, typer.Argument(help="The SAM template to check.")] = Path("template.yaml"),
    parameter: Annotated[
        list[str] | None, typer.Option(metavar="NAME=VALUE", help="A template parameter (repeatable).")
    ] = None,
) -> None:
    """Translate the SAM template, lint it with cfn-lint (informational checks included), and check the
    SQS/Lambda and deploy-readiness rules. Exits 1 on errors."""
    from sqs_lambda_dev.doctor import validate as run

    findings = run(template, parameters=parse_parameters(parameter))
    for finding in findings:
        style = {"error": "red", "warning": "yellow"}.get(finding.severity, "blue")
        out.print(
            f"[{style}]{finding.severity.upper():7}[/] {finding.resource}: {finding.message}. "
            f"[dim]Fix: {finding.fix} ({finding.rule})[/]"
        )
    count = {severity: sum(f.severity == severity for f in findings) for severity in ("error", "warning", "info")}
    summary = f"{template}: {count['error']} error(s), {count['warning']} warning(s)"
    out.print(summary + (f", {count['info']} informational" if count["info"] else ""))
    if count["error"]:
        raise typer.Exit(1)


# The operations commands (status, send, event, peek, redrive, purge, wait) register on ``app`` there.
from sqs_lambda_dev import cli_operations, cli_project  # noqa: E402, F401 - imported for their commands

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


if __name__ == "__main__":  # python -m: run the imported module, on whose app cli_operations registered
    from sqs_lambda_dev.cli import main as imported_main

    imported_main()

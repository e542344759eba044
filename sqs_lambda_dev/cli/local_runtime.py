"""``sqs-lambda local``: the whole template on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sqs_lambda_dev.cli import EndpointFlag, app, err, parse_parameters


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
    chaos: Annotated[
        str | None,
        typer.Option(
            metavar="SPEC",
            help="Inject faults: kills, duplicates, lost_deletes, sqs_errors, delays (rates), skew (seconds), seed; "
            "e.g. kills=0.1,duplicates=0.2,seed=7, or a TOML file with [tool.sqs-lambda.chaos].",
        ),
    ] = None,
    no_dashboard: Annotated[
        bool, typer.Option("--no-dashboard", help="Do not serve the job inspector (--until-idle never does).")
    ] = False,
    dashboard_port: Annotated[int, typer.Option(help="The job inspector's port on 127.0.0.1 (0: a free one).")] = 0,
    otel: Annotated[
        str | None,
        typer.Option(
            metavar="console|otlp",
            help="Trace every function with OpenTelemetry: print the spans, or export them to "
            "OTEL_EXPORTER_OTLP_ENDPOINT (needs opentelemetry-sdk; otlp also opentelemetry-exporter-otlp-proto-http).",
        ),
    ] = None,
) -> None:
    """Run the template here: an embedded SQS endpoint, its queues, functions, triggers and schedules."""
    from sqs_lambda_dev.local.chaos import ChaosSpec
    from sqs_lambda_dev.local.demo import load_demo
    from sqs_lambda_dev.local.display import Display
    from sqs_lambda_dev.local.ledger import report_lines
    from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions
    from sqs_lambda_dev.local.stopping import FORCED_EXIT_CODE, StopSignals

    parameters = parse_parameters(parameter)
    if otel is not None:
        from sqs_lambda.otel import exporter_problem

        problem = exporter_problem(otel)
        if problem is not None:
            raise ValueError(f"--otel {otel}: {problem}")
    chaos_spec = ChaosSpec.parse(chaos) if chaos is not None else None
    display = Display(json_output=json_output)
    runtime = LocalRuntime(
        RuntimeOptions(
            template=template,
            endpoint_url=endpoint_url,
            stage=stage,
            fire_schedules=fire_schedules or demo,
            parameters=parameters,
            reload=not no_reload,
            chaos=chaos_spec,
            otel=otel,
        ),
        on_event=display.event,
    )
    display.on_closed = runtime.request_stop  # `sqs-lambda local | head`: the reader left
    signals = StopSignals(runtime, notify=lambda message: err.print(message, style="dim"))
    signals.install()
    idle = True
    report: dict[str, Any] | None = None
    sent: dict[str, Any] = {}
    demo_script: Any = None
    dashboard: Any = None
    try:
        runtime.start()
        if not until_idle and not no_dashboard:
            from sqs_lambda_dev.dashboard import serve_local

            dashboard = serve_local(runtime, port=dashboard_port)
            display.event("dashboard", {"url": dashboard.url})
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
            report = runtime.chaos_report(finished=until_idle and idle and not signals.requested.is_set())
            if report is not None:
                extra = {**(extra or {}), "chaos": report} if json_output else extra
            display.summary(runtime, extra)
            if report is not None and not json_output:
                display.console.print("\n".join(report_lines(report)))
        if dashboard is not None:
            dashboard.stop()
        runtime.stop()
        signals.restore()
    if signals.forced:
        raise typer.Exit(FORCED_EXIT_CODE)
    if until_idle and not idle and not signals.requested.is_set() and not display.closed:
        err.print(f"not idle after {timeout:g}s")
        raise typer.Exit(1)
    if report is not None and report.get("lost"):
        err.print(f"chaos: {len(report['lost'])} job(s) lost (neither succeeded nor in a DLQ)")
        raise typer.Exit(1)

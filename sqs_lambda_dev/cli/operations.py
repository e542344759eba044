"""The operations commands of ``sqs-lambda``: status, send, send-raw, event, peek, redrive, purge, wait.

Thin wrappers over :mod:`sqs_lambda_dev.ops`, registered on the CLI's ``app``; every command that reaches
SQS takes the target options (see :func:`sqs_lambda_dev.cli.with_target`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from sqs_lambda.errors import ConfigurationError
from sqs_lambda.producing.queues import name_of_url
from sqs_lambda_dev.cli import Output, OutputFlag, app, err, out, with_target
from sqs_lambda_dev.endpoints import all_queues, router_for, send_queue, source_queues


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.0f}m"


@app.command()
@with_target
def status(
    queues: Annotated[list[str] | None, typer.Argument(help="Queues (default: the source queues).")] = None,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh every 2 seconds.")] = False,
    output: OutputFlag = Output.table,
    target: Any = None,
) -> None:
    """Visible / in flight / delayed counts, the DLQ depth, and the oldest message's age."""
    from sqs_lambda_dev import ops

    urls = source_queues(target, list(queues or []))
    if output is Output.json:
        if watch:
            raise typer.BadParameter("--watch shows a table; --output json prints once")
        rows = ops.status(target.backend, urls, with_age=target.kind == "aws")
        out.print_json(json.dumps([ops.status_row(row) for row in rows]))
        return

    def render() -> Table:
        table = Table()
        for column in ("queue", "visible", "in flight", "delayed", "DLQ", "oldest"):
            table.add_column(column, justify="left" if column == "queue" else "right")
        for row in ops.status(target.backend, urls, with_age=target.kind == "aws"):
            dlq = f"{row.dlq_depth} ({row.dlq_name})" if row.dlq_name else "-"
            counts = row.counts
            table.add_row(
                row.name, str(counts.visible), str(counts.in_flight), str(counts.delayed), dlq, _age(row.oldest_age)
            )
        return table

    if not watch:
        out.print(render())
        return
    from rich.live import Live

    with Live(render(), console=out, refresh_per_second=1) as live:
        try:
            while True:
                import time

                time.sleep(2)
                live.update(render())
        except KeyboardInterrupt:
            pass


@app.command()
@with_target
def send(
    job: Annotated[str, typer.Argument(help="The job name.")],
    kwargs: Annotated[str, typer.Option(help="Keyword arguments as a JSON object.")] = "{}",
    queue: Annotated[str | None, typer.Option(help="Queue name, URL or (locally) logical id.")] = None,
    delay: Annotated[float | None, typer.Option(help="Seconds (over 900: delivered in hops).")] = None,
    group: Annotated[
        str | None, typer.Option(help="MessageGroupId: required on FIFO; on a standard queue, the fair-queue tenant.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Send a job name the queue's router does not know.")] = False,
    target: Any = None,
) -> None:
    """Enqueue a job through the producer client (same validation); prints the MessageId.

    Where the queue's router is known (the local runtime), an unknown job name is refused unless --force."""
    from sqs_lambda.producing.producer import Producer

    arguments = json.loads(kwargs)
    if not isinstance(arguments, dict):
        raise typer.BadParameter("--kwargs must be a JSON object")
    url = send_queue(target, queue, job)
    router = router_for(target, url)
    if router is not None and job not in router.jobs and not force:
        raise ConfigurationError(f"{router.unknown_job_reason(job)} Pass --force to send it anyway")
    producer = Producer(url, router=router, backend=target.backend)
    _check_fifo_options(producer, group)
    out.print(producer.enqueue(job, arguments, delay=delay, group_id=group))


def _check_fifo_options(producer: Any, group: str | None) -> None:
    """The producer's FIFO checks, in the CLI's words (``--group``, not ``group_id=``)."""
    if producer.info.fifo and not group:
        raise ConfigurationError(f"queue {producer.info.name} is FIFO: pass --group GROUP (its MessageGroupId)")


@app.command("send-raw")
@with_target
def send_raw(
    body: Annotated[str, typer.Argument(help="The message body, sent as it is.")],
    queue: Annotated[str | None, typer.Option(help="Queue name, URL or (locally) logical id.")] = None,
    delay: Annotated[float | None, typer.Option(help="Seconds (up to 900).")] = None,
    group: Annotated[
        str | None, typer.Option(help="MessageGroupId: required on FIFO; on a standard queue, the fair-queue tenant.")
    ] = None,
    target: Any = None,
) -> None:
    """Send a raw body (no envelope); prints the MessageId."""
    from sqs_lambda.producing.producer import Producer

    producer = Producer(send_queue(target, queue), backend=target.backend)
    _check_fifo_options(producer, group)
    out.print(producer.send_raw(body, delay=delay, group_id=group))


@app.command()
def event(
    job: Annotated[str | None, typer.Argument(help="The job (leave out with --raw).")] = None,
    kwargs: Annotated[str, typer.Option(help="Keyword arguments as a JSON object.")] = "{}",
    raw: Annotated[str | None, typer.Option("--raw", help="A foreign body instead of a job envelope.")] = None,
    count: Annotated[int, typer.Option(help="Records in the event (each its own envelope).")] = 1,
    fifo: Annotated[bool, typer.Option("--fifo", help="FIFO records (MessageGroupId, SequenceNumber...).")] = False,
    group: Annotated[
        str, typer.Option(help="MessageGroupId: required on FIFO; on a standard queue, the fair-queue tenant.")
    ] = "default",
    queue: Annotated[str, typer.Option(help="Queue name in the records' eventSourceARN.")] = "jobs",
    receive_count: Annotated[int, typer.Option(help="ApproximateReceiveCount (a retry when above 1).")] = 1,
) -> None:
    """Print a Lambda SQS event whose records carry job envelopes, for `sam local invoke -e` (SAM's
    `generate-event sqs receive-message --body` breaks on JSON bodies)."""
    from sqs_lambda_dev.events import sqs_event

    if (job is None) == (raw is None):
        raise typer.BadParameter("give a JOB, or --raw BODY for a foreign message")
    arguments = json.loads(kwargs)
    if not isinstance(arguments, dict):
        raise typer.BadParameter("--kwargs must be a JSON object")
    message: Any = raw if job is None else (job, arguments)
    messages = [message] * max(1, count)
    suffix = ".fifo" if fifo and not queue.endswith(".fifo") else ""
    records = sqs_event(*messages, fifo=fifo, group_id=group, queue=queue + suffix, receive_count=receive_count)
    print(json.dumps(records, indent=2))  # plain: it goes to a file


@app.command()
@with_target
def peek(
    queue: Annotated[str, typer.Argument(help="Queue name, URL or (locally) logical id.")],
    n: Annotated[int, typer.Option("-n", help="How many messages.")] = 10,
    output: OutputFlag = Output.json,
    target: Any = None,
) -> None:
    """Show messages without consuming them (SQS still counts the receive): a JSON array of decoded
    messages, or a table of one line each."""
    from sqs_lambda_dev import ops
    from sqs_lambda_dev.endpoints import queue_url

    messages = ops.peek(target.backend, queue_url(target, queue), n)
    if output is Output.json:
        out.print_json(json.dumps(messages, default=str))
    else:
        table = Table()
        for column in ("message id", "job", "attempts", "arguments / body", "failure"):
            table.add_column(column)
        for message in messages:
            reason = message.get("failure") or {}
            shown = message.get("kwargs", message.get("body", message.get("error", "")))
            failure_text = f"{reason.get('error_type', '')}: {reason.get('error_message', '')}" if reason else ""
            table.add_row(
                message["message_id"],
                str(message["job"]),
                str(message["attempts"]),
                json.dumps(shown, default=str)[:80],
                failure_text[:80],
            )
        out.print(table)
    err.print(f"{len(messages)} message(s)", style="dim")


@app.command()
@with_target
def redrive(
    dlq: Annotated[str, typer.Argument(help="The dead-letter queue (name, URL or logical id).")],
    to: Annotated[str | None, typer.Option("--to", help="Destination (default: the source).")] = None,
    rate: Annotated[int | None, typer.Option(help="Messages per second at most.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would move; move nothing.")] = False,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Run them through the source's handler instead of moving them.")
    ] = False,
    target: Any = None,
) -> None:
    """Move a DLQ's messages back to their source queue (or run them in place)."""
    from rich.progress import Progress

    from sqs_lambda_dev import ops
    from sqs_lambda_dev.endpoints import queue_url

    dlq_url = queue_url(target, dlq)
    destination = queue_url(target, to) if to else ops.source_of(target.backend, dlq_url, all_queues(target))
    if destination is None:
        raise typer.BadParameter("no queue redrives to this DLQ here: pass --to")
    total = target.backend.counts(dlq_url).total
    if in_place:
        from sqs_lambda_dev.local.runtime import consuming_function

        function = consuming_function(target.state, destination) if target.kind == "local" else None
        if function is None:
            raise ConfigurationError(
                "--in-place runs the messages through the source queue's function: use it with --local"
            )
        try:
            with Progress(console=err, transient=True) as progress:
                task = progress.add_task("running in place", total=total or None)
                ok, failed = ops.redrive_in_place(
                    target.backend, dlq_url, function, progress=lambda n: progress.advance(task, n)
                )
        finally:
            function.close()
        out.print(f"{ok} succeeded and left the DLQ; {failed} failed and stay in it")
        if failed:
            raise typer.Exit(1)
        return
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("redriving", total=total or None)
        result = ops.redrive(
            target.backend,
            dlq_url,
            destination,
            rate=rate,
            dry_run=dry_run,
            progress=lambda n: progress.advance(task, n),
        )
    verb = "would move" if dry_run else "moved"
    report = f"{verb} {result.moved} message(s) to {destination} ({result.method})"
    if result.remaining is not None and not dry_run:
        report += f"; {result.remaining} remain in the DLQ"
        if result.returned:
            report += f" ({result.returned} failed again during the redrive and were not moved twice)"
    out.print(report)


@app.command()
@with_target
def purge(
    queues: Annotated[list[str], typer.Argument(help="The queues to empty.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Allow names outside the stage prefix.")] = False,
    target: Any = None,
) -> None:
    """Delete every message in the queues (asks first)."""
    from sqs_lambda_dev.endpoints import queue_url

    urls = [queue_url(target, name) for name in queues]
    for url in urls:
        name = name_of_url(url)
        if not force and not (target.stage and name.startswith(f"{target.stage}-")):
            raise typer.BadParameter(
                f"{name} does not start with the stage prefix "
                f"'{target.stage or '(no stage set)'}-'; pass --force to purge it anyway"
            )
    if not yes:
        depths = ", ".join(
            f"{url.rstrip('/').split('/')[-1]} ({target.backend.counts(url).total} messages)" for url in urls
        )
        try:
            confirmed = typer.confirm(f"purge {depths} on {target.describe()}?")
        except typer.Abort:  # stdin closed: nobody can answer
            raise ConfigurationError(
                "purge asks before deleting and nobody answered (stdin is closed): pass --yes"
            ) from None
        if not confirmed:
            err.print("not purged: nothing was deleted")
            raise typer.Exit(1)
    for url in urls:
        target.backend.purge(url)
        out.print(f"purged {url}")


@app.command()
@with_target
def wait(
    queues: Annotated[
        list[str] | None, typer.Argument(help="The queues to wait for (default: the source queues).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds.")] = 60,
    target: Any = None,
) -> None:
    """Wait until the queues are empty; exit 1 on timeout."""
    from sqs_lambda_dev import ops

    if not ops.wait(target.backend, source_queues(target, queues or []), timeout=timeout):
        err.print(f"still not empty after {timeout:g}s")
        raise typer.Exit(1)
    out.print("empty")

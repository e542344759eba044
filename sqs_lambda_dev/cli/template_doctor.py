"""``sqs-lambda validate``: the template doctor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sqs_lambda_dev.cli import app, out, parse_parameters


@app.command()
def validate(
    template: Annotated[Path, typer.Argument(help="The SAM template to check.")] = Path("template.yaml"),
    parameter: Annotated[
        list[str] | None, typer.Option(metavar="NAME=VALUE", help="A template parameter (repeatable).")
    ] = None,
) -> None:
    """Translate the SAM template, lint it with cfn-lint (informational checks included), and check the
    SQS/Lambda and deploy-readiness rules. Exits 1 on errors."""
    from sqs_lambda_dev.validate.doctor import validate as run

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

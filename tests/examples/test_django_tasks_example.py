"""The django.tasks example project (examples/django_tasks): its template validates clean, and under
``sqs-lambda local`` a view enqueues, the tasks' function runs them, and the view reads their results."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from sqs_lambda_dev.validate.doctor import validate

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "django_tasks"


def test_the_example_template_validates_clean() -> None:
    assert [str(f) for f in validate(EXAMPLE / "template.yaml") if f.severity != "info"] == []


def test_the_example_runs_under_sqs_lambda_local_and_traces_with_otel_console(tmp_path: Path) -> None:
    """One run for two things: the example's tasks under ``sqs-lambda local``, and ``--otel console``
    (the API function's send spans, the tasks function's process spans linked to them)."""
    command = [sys.executable, "-m", "sqs_lambda_dev.cli", "local", "--template", str(EXAMPLE / "template.yaml")]
    done = subprocess.run(
        [*command, "--demo", "--until-idle", "--timeout", "120", "--otel", "console"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert '"return_value": "welcomed Ada"' in done.stdout
    assert '"status": "FAILED"' in done.stdout and '"attempts": 3' in done.stdout
    spans = [json.loads(line.split(" | ", 1)[1]) for line in done.stdout.splitlines() if ' | {"name": ' in line]
    sends = {s["context"]["span_id"] for s in spans if s["name"] == "send dev-signups-tasks"}
    processed = [s for s in spans if s["name"] == "process dev-signups-tasks"]
    assert len(sends) == 2 and len(processed) == 4  # Ada once; the typo three times (max_retries 2)
    assert {s["links"][0]["context"]["span_id"] for s in processed} == sends
    outcomes = sorted(s["attributes"]["sqs_lambda.outcome"] for s in processed)
    assert outcomes == ["dead_lettered", "retried", "retried", "succeeded"]


def test_the_readme_shows_the_examples_files_as_they_are() -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"```py\n# (examples/django_tasks/\S+)\n(.*?)```", readme, re.S)
    assert [path for path, _ in shown] == [
        "examples/django_tasks/app/signups/tasks.py",
        "examples/django_tasks/app/signups/views.py",
    ]
    for path, code in shown:
        assert code == (ROOT / path).read_text(), path

"""Two ways in: ``sqs-lambda local`` prints the inspector's URL at start and serves it (``--no-dashboard``:
not; ``--until-idle``: never), and ``sqs-lambda dashboard`` serves any endpoint."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqs_lambda_testing.sqs import LocalSqs
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function

APP = "def handler(event, context):\n    return {'batchItemFailures': []}\n"


def project(directory: Path, name: str) -> Path:
    (directory / "src").mkdir()
    (directory / "src" / "app.py").write_text(APP)
    template = sam_template({**queue_with_dlq("Jobs", queue_name=name), "Fn": sqs_function("app.handler", "Jobs")})
    (directory / "template.yaml").write_text(json.dumps(template))
    return directory


def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}


@contextmanager
def running(directory: Path, *arguments: str) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sqs_lambda_dev.cli", *arguments],
        cwd=directory,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
    )
    lines: list[str] = []
    try:
        yield process, lines
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def read_until(process: subprocess.Popen[str], lines: list[str], marker: str, timeout: float = 60) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return line
    raise AssertionError(f"no line with {marker!r}: {''.join(lines)[-2000:]}")


def test_local_prints_the_inspector_url_at_start_and_serves_it(tmp_path: Path) -> None:
    with running(project(tmp_path, "cli-dash-jobs"), "local") as (process, lines):
        line = read_until(process, lines, "Job inspector: ")
        url = line.split("Job inspector: ", 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "api/queues", timeout=10) as response:
            names = {row["name"] for row in json.loads(response.read())}
        assert names == {"cli-dash-jobs", "cli-dash-jobs-dlq"}
        read_until(process, lines, "running; Ctrl-C stops")
    assert process.returncode == 0


def test_no_dashboard_turns_it_off(tmp_path: Path) -> None:
    with running(project(tmp_path, "cli-nodash-jobs"), "local", "--no-dashboard") as (process, lines):
        read_until(process, lines, "running; Ctrl-C stops")
    assert not any("Job inspector" in line for line in lines)


def test_until_idle_runs_do_not_serve_it(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "sqs_lambda_dev.cli", "local", "--until-idle", "--json", "--timeout", "60"],
        cwd=project(tmp_path, "cli-idle-jobs"),
        capture_output=True,
        text=True,
        timeout=120,
        env=environment(),
    )
    assert run.returncode == 0, run.stderr
    kinds = [json.loads(line)["event"] for line in run.stdout.splitlines() if line.startswith("{")]
    assert "summary" in kinds and "dashboard" not in kinds


def test_the_dashboard_command_serves_an_endpoint_with_a_prefix(sqs_local: LocalSqs, tmp_path: Path) -> None:
    pair = sqs_local.create_queue_pair("prefixed-dash")
    sqs_local.client.send_message(QueueUrl=pair.url, MessageBody="{}")
    with running(
        tmp_path, "dashboard", "--endpoint-url", sqs_local.url, "--queue-prefix", "prefixed-dash", "--port", "0"
    ) as (process, lines):
        line = read_until(process, lines, "job inspector: ")
        url = line.split("job inspector: ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "api/queues", timeout=10) as response:
            rows = {row["name"]: row for row in json.loads(response.read())}
        assert set(rows) == {"prefixed-dash", "prefixed-dash-dlq"} and rows["prefixed-dash"]["visible"] == 1
        assert "endpoint " + sqs_local.url in "".join(lines)

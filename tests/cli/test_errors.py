"""Every CLI command, given bad input, says one line naming what is wrong, exits 2 (1 for a refused
confirmation), and shows no traceback or class name (#20, item 5)."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqs_lambda.errors import JobArgumentError
from sqs_lambda_testing.sqs import LocalSqs

CLI = [sys.executable, "-m", "sqs_lambda_dev.cli"]
LEAKS = ("Traceback", "BadParameter:", "ValueError:", "NoSuchOption:", "Error:", "KeyError", "TypeError")


@pytest.fixture(scope="module")
def not_sqs() -> Iterator[str]:
    """A web server on 127.0.0.1 that is not SQS (it answers POSTs with an HTML error page)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("project")
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Resources": {"Q": {"Type": "AWS::SQS::Queue"}},
    }
    (directory / "template.yaml").write_text(json.dumps(template))
    return directory


def run(arguments: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SQS_LAMBDA_"))}
    environment["HOME"] = str(cwd)  # no ~/.aws
    return subprocess.run(
        [*CLI, *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


def fifo_queue(sqs_local: LocalSqs) -> str:
    return str(
        sqs_local.backend.client().create_queue(QueueName="errors.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    )


# (arguments, what the one line must say, exit code); "{not_sqs}", "{engine}" and "{fifo}" are filled in
CASES: list[tuple[list[str], str, int]] = [
    (
        ["status", "--endpoint-url", "{not_sqs}"],
        "the endpoint {not_sqs} does not answer as SQS does (HTTP 501 to ListQueues)",
        2,
    ),
    (["local", "--parameter", "Stage"], "--parameter 'Stage': write it as Name=Value", 2),
    (
        ["local", "--parameter", "Nope=1"],
        "--parameter Nope: the template declares no such parameter (it has: Stage)",
        2,
    ),
    (["validate", "--parameter", "Stage"], "--parameter 'Stage': write it as Name=Value", 2),
    (["validate", "--parameter", "Stag=dev"], "--parameter Stag: the template declares no such parameter", 2),
    (["validate", "missing.yaml"], "missing.yaml: no such template", 2),
    (["peek", "jobs", "-n", "abc", "--endpoint-url", "{engine}"], "Invalid value for '-n'", 2),
    (["peek", "jobs", "--bogus"], "No such option: --bogus", 2),
    (["send", "hello", "--queue", "{fifo}", "--endpoint-url", "{engine}"], "is FIFO: pass --group GROUP", 2),
    (["send-raw", "x", "--queue", "{fifo}", "--endpoint-url", "{engine}"], "is FIFO: pass --group GROUP", 2),
    (["send", "hello", "--kwargs", "{{nope", "--queue", "q", "--endpoint-url", "{engine}"], "not valid JSON", 2),
    (["status", "--aws"], "no AWS region set: pass --region or export AWS_REGION", 2),
    (
        ["status", "--endpoint-url", "http://127.0.0.1:9"],
        "cannot reach the endpoint http://127.0.0.1:9: is it running?",
        2,
    ),
    (["env"], "no local runtime is running here", 2),
    (["redrive", "x", "--local"], "no local runtime is running here", 2),
    (["purge", "{fifo}", "--force", "--endpoint-url", "{engine}"], "nobody answered (stdin is closed): pass --yes", 2),
    (["worker", "nomodule:router", "--queue", "{fifo}", "--endpoint-url", "{engine}"], "nomodule", 2),
]


@pytest.mark.parametrize(("arguments", "says", "code"), CASES, ids=[" ".join(c[0][:3]) for c in CASES])
def test_one_clear_line(
    arguments: list[str], says: str, code: int, not_sqs: str, sqs_local: LocalSqs, project: Path
) -> None:
    values = {"not_sqs": not_sqs, "engine": sqs_local.url, "fifo": fifo_queue(sqs_local)}
    done = run([a.format(**values) for a in arguments], project)
    problems = [line for line in done.stderr.splitlines() if not line.startswith("target: ")]
    assert done.returncode == code, done.stderr
    assert len(problems) == 1, done.stderr
    assert problems[0].startswith("error: ") and says.format(**values) in problems[0], problems[0]
    assert not any(leak in done.stderr for leak in LEAKS), done.stderr


def test_purge_answered_no_says_so_and_deletes_nothing(sqs_local: LocalSqs, project: Path) -> None:
    url = fifo_queue(sqs_local)
    sqs_local.backend.send(url, "keep", group_id="g", dedup_id="keep-1")
    done = run(["purge", url, "--force", "--endpoint-url", sqs_local.url], project, stdin="n\n")
    assert done.returncode == 1
    assert "errors.fifo (1 messages)" in done.stdout  # the question names the queue and its depth
    assert done.stderr.strip().splitlines()[-1] == "not purged: nothing was deleted"
    assert sqs_local.backend.counts(url).total == 1


def test_help_shows_flags_as_flags_and_every_option_has_help(project: Path) -> None:
    commands = [
        "local",
        "worker",
        "validate",
        "status",
        "send",
        "send-raw",
        "event",
        "peek",
        "redrive",
        "purge",
        "wait",
        "env",
        "new",
    ]
    for command in commands:
        text = run([command, "--help"], project).stdout
        assert "<bool>" not in text and " / --no-" not in text, (command, text)
        options = text.split("Arguments:" if "Arguments:" in text else "Options:", 1)[1].splitlines()
        for line in options:
            entry = line.strip()
            if entry.startswith("-") or (line.startswith("  ") and not line.startswith("   ") and entry):
                if entry in ("Options:",):
                    continue
                assert "  " in entry, f"{command}: {entry!r} has no help text"


def test_errors_before_a_message_exists_name_the_job_not_an_empty_message() -> None:
    assert str(JobArgumentError("invalid arguments: x", job="ship")) == "job 'ship': invalid arguments: x"
    assert (
        str(JobArgumentError("invalid arguments: x", message_id="", job="ship")) == "job 'ship': invalid arguments: x"
    )
    assert str(JobArgumentError("bad", message_id="m1", job="ship")) == "message m1 (job 'ship'): bad"


def test_local_names_a_fifo_queue_whose_name_lacks_fifo(tmp_path: Path) -> None:
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {"Jobs": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "jobs", "FifoQueue": True}}},
    }
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    done = run(["local", "--until-idle"], tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: Jobs: QueueName 'jobs' is FIFO but does not end in .fifo, as SQS requires"
    ]
    assert "queues" not in done.stdout  # no summary of a runtime that never started

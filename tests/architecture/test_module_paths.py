"""The runtime's layout: subpackages that name its parts, and the 0.2 module paths still importing."""

from __future__ import annotations

import importlib
import subprocess
import sys

from test_layers import ROOT, RUNTIME

from sqs_lambda._moved import MOVED

PARTS = {"wire", "consuming", "producing", "aws", "worker", "contrib"}


def test_the_runtime_is_a_few_named_rooms() -> None:
    packages = {path.parent.name for path in (ROOT / RUNTIME).glob("*/__init__.py")}
    modules = {path.stem for path in (ROOT / RUNTIME).glob("*.py")} - {"__init__", "__main__", "_moved"}
    assert packages == PARTS
    # what stays at the top: the app users declare (router, jobs) and what every part shares
    assert modules == {
        "router",
        "registry",
        "jobs",
        "schema",
        "call",
        "middleware",
        "errors",
        "context",
        "settings",
        "observe",
        "otel",
    }


def test_every_old_path_is_the_module_at_its_new_place() -> None:
    for old, new in MOVED.items():
        assert (ROOT / RUNTIME / f"{new.replace('.', '/')}.py").exists() or (
            ROOT / RUNTIME / new.replace(".", "/") / "__init__.py"
        ).exists(), new
        assert not (ROOT / RUNTIME / f"{old.replace('.', '/')}.py").exists(), f"{old} is still a file"
        assert importlib.import_module(f"{RUNTIME}.{old}") is importlib.import_module(f"{RUNTIME}.{new}")


def test_documented_paths_import_in_a_fresh_process() -> None:
    probe = (
        "from sqs_lambda.backoff import exponential\n"
        "from sqs_lambda.shutdown import idle, after\n"
        "from sqs_lambda.sqs import AwsSqs\n"
        "from sqs_lambda.worker import Worker, Shutdown\n"
        "from sqs_lambda import aws, signing, context\n"
        "import sqs_lambda.envelope, sqs_lambda.wire.envelope\n"
        "from sqs_lambda.observe import JobFields\n"
        "from sqs_lambda.contrib.django import lambda_handler\n"
        "assert sqs_lambda.envelope is sqs_lambda.wire.envelope\n"
        "assert callable(aws.client) and exponential() is not None and (idle(1) | after(2)) is not None\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "ok", result.stderr
    worker = subprocess.run([sys.executable, "-m", "sqs_lambda.worker", "--help"], capture_output=True, text=True)
    assert worker.returncode == 0 and "MODULE:ATTRIBUTE" in worker.stdout


def test_an_unknown_path_still_fails_as_python_says() -> None:
    result = subprocess.run([sys.executable, "-c", "import sqs_lambda.nothing_here"], capture_output=True, text=True)
    assert result.returncode == 1 and "No module named 'sqs_lambda.nothing_here'" in result.stderr


def test_no_module_is_over_400_lines() -> None:
    long = [
        f"{path.relative_to(ROOT)}: {lines}"
        for package in (RUNTIME, "sqs_lambda_dev", "sqs_lambda_testing", "tests", "benchmarks")
        for path in (ROOT / package).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > 400
    ]
    assert long == []

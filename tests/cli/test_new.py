"""`sqs-lambda new`: the scaffold validates, its tests pass, `local --until-idle` runs it (#20, item 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "sqs_lambda_dev.cli"]


def run(arguments: list[str], cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SQS_LAMBDA_"))}
    return subprocess.run(arguments, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout)


# The standard app runs by default; the FIFO and Django variants (13 s each) with the slow suites.
VARIANTS = [
    pytest.param([], id="standard"),
    pytest.param(["--fifo"], id="fifo", marks=pytest.mark.slow),
    pytest.param(["--django"], id="django", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_new_app_validates_tests_and_runs_locally(tmp_path: Path, variant: list[str]) -> None:
    created = run([*CLI, "new", "my-app", *variant], tmp_path)
    assert created.returncode == 0, created.stderr
    app = tmp_path / "my-app"
    assert (app / "layer" / "sqs_lambda" / "router.py").exists()  # the installed library, as the layer
    assert "aws-lambda-powertools" in (app / "layer" / "requirements.txt").read_text()
    assert "BuildMethod: python3.13" in (app / "template.yaml").read_text()

    validated = run([*CLI, "validate"], app)
    assert validated.returncode == 0 and "0 error(s), 0 warning(s)" in validated.stdout, validated.stdout

    tested = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], app)
    assert tested.returncode == 0 and "2 passed" in tested.stdout, tested.stdout + tested.stderr

    local = run([*CLI, "local", "--demo", "--until-idle", "--json", "--timeout", "120"], app)
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr
    summary = json.loads(local.stdout.strip().splitlines()[-1])
    assert summary["dead_letters"] == 1 and summary["queues"]["JobsQueue"] == {
        "visible": 0,
        "in_flight": 0,
        "delayed": 0,
    }
    lines = [json.loads(line) for line in local.stdout.splitlines()]
    said = " ".join(str(line.get("line", "")) for line in lines if line.get("event") == "log")
    assert "hello, Ada" in said and "hello, Grace" in said
    assert "Found credentials" not in said  # botocore's INFO chatter stays out of the function's logs


def test_new_refuses_a_non_empty_directory_and_refreshes_a_layer(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "file").write_text("x")
    refused = run([*CLI, "new", "taken"], tmp_path)
    assert refused.returncode == 2
    assert (
        refused.stderr.strip() == "error: taken is not empty: sqs-lambda new writes a new app into an empty directory"
    )
    assert run([*CLI, "new", "app"], tmp_path).returncode == 0
    (tmp_path / "app" / "layer" / "sqs_lambda" / "router.py").write_text("old")
    refreshed = run([*CLI, "new", "app", "--layer-only"], tmp_path)
    assert refreshed.returncode == 0, refreshed.stderr
    assert "class Router" in (tmp_path / "app" / "layer" / "sqs_lambda" / "router.py").read_text()

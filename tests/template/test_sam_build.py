"""``sam build`` succeeds on the shipped template (slow; skipped without aws-sam-cli on PATH)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sam") is None, reason="aws-sam-cli is not installed")
def test_sam_build_and_the_built_worker_imports(tmp_path: Path) -> None:
    build = tmp_path / "build"
    environment = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    result = subprocess.run(
        ["sam", "build", "--template", str(ROOT / "template.yaml"), "--build-dir", str(build)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Build Succeeded" in result.stdout
    layer = build / "SqsLambdaLayer" / "python"
    assert (layer / "sqs_lambda" / "router.py").exists() and (layer / "msgspec").exists()
    # the built function runs on the layer alone (boto3 comes from the runtime, here from this venv)
    check = (
        "import sys, app; assert 'boto3' not in sys.modules; "
        'print(app.router.prepare({\'body\': \'{"sqs_lambda": 1, "job": "process_file", '
        '"kwargs": {"file_id": "1"}}\'}).kwargs)'
    )
    probe = subprocess.run(
        [sys.executable, "-c", check],
        cwd=build / "WorkerFunction",
        env={**environment, "PYTHONPATH": f"{layer}:{build / 'WorkerFunction'}"},
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr
    assert "{'file_id': '1'}" in probe.stdout

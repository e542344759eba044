"""``sam build`` yields a layer for the template's runtime and architecture (slow; needs aws-sam-cli and
the build's Python on PATH, as SAM itself does).

For python3.13/arm64 (the shipped template) and python3.12/x86_64 (the same template, changed), the
layer's ``msgspec._core`` must be built for that platform: the ELF header's machine and the ABI tag in
the file name. The x86_64 build, which this machine can run, must import and route a record from the
build directory alone with only boto3 beside it, as in Lambda.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ELF_MACHINE = {"arm64": 183, "x86_64": 62}  # e_machine: EM_AARCH64, EM_X86_64
ABI_TAG = {"arm64": "aarch64-linux-gnu", "x86_64": "x86_64-linux-gnu"}


def runnable(command: str) -> bool:
    try:
        return subprocess.run([command, "--version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def build(tmp_path: Path, runtime: str, architecture: str) -> Path:
    project = tmp_path / "project"
    for folder in ("functions", "layer", "sqs_lambda"):
        shutil.copytree(ROOT / folder, project / folder, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    template = (ROOT / "template.yaml").read_text()
    template = template.replace("python3.13", runtime).replace("arm64", architecture)
    (project / "template.yaml").write_text(template)
    result = subprocess.run(
        ["sam", "build", "--build-dir", str(project / "build")],
        cwd=project,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return project / "build"


def check_binary(layer: Path, runtime: str, architecture: str) -> None:
    (core,) = (layer / "msgspec").glob("_core*.so")
    version = runtime.removeprefix("python").replace(".", "")
    assert f"cpython-{version}-{ABI_TAG[architecture]}" in core.name, core.name
    header = core.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == ELF_MACHINE[architecture]


def check_contents(layer: Path) -> None:
    packages = {path.name for path in layer.iterdir() if path.is_dir()}
    assert "sqs_lambda" in packages and "msgspec" in packages and "aws_lambda_powertools" in packages
    assert not packages & {"sqs_lambda_dev", "sqs_lambda_testing", "typer", "moto", "boto3", "botocore"}


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("sam") is None or not runnable("python3.13"), reason="needs aws-sam-cli and python3.13"
)
def test_sam_build_for_python3_13_on_arm64(tmp_path: Path) -> None:
    built = build(tmp_path, "python3.13", "arm64")
    layer = built / "SqsLambdaLayer" / "python"
    check_binary(layer, "python3.13", "arm64")
    check_contents(layer)


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("sam") is None or not runnable("python3.12"), reason="needs aws-sam-cli and python3.12"
)
def test_sam_build_for_python3_12_on_x86_64_runs_from_the_build_alone(tmp_path: Path) -> None:
    built = build(tmp_path, "python3.12", "x86_64")
    layer = built / "SqsLambdaLayer" / "python"
    check_binary(layer, "python3.12", "x86_64")
    check_contents(layer)
    boto3 = tmp_path / "boto3"  # what Lambda's runtime provides beside the function and its layers
    install = ["python3.12", "-m", "pip", "install", "-q", "--target", str(boto3), "boto3"]
    assert subprocess.run(install, capture_output=True, timeout=600).returncode == 0
    function = built / "WorkerFunction"
    probe = (
        "import sys; sys.path[:0] = sys.argv[1:]\n"
        "import app\n"
        "assert 'boto3' not in sys.modules and 'sqs_lambda_dev' not in sys.modules\n"
        "assert app.__file__.startswith(sys.argv[1]) and sys.modules['msgspec'].__file__.startswith(sys.argv[2])\n"
        'body = \'{"sqs_lambda": 1, "job": "process_file", "kwargs": {"file_id": "1"}}\'\n'
        "print(app.router.prepare({'body': body}).kwargs)\n"
    )
    # -S: no site-packages, so nothing but the build directory and boto3 is importable
    result = subprocess.run(
        ["python3.12", "-S", "-c", probe, str(function), str(layer), str(boto3)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "AWS_DEFAULT_REGION": "us-east-1", **pyenv()},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'file_id': '1', 'content': None}"


def pyenv() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key.startswith("PYENV")}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("sam") is None, reason="needs aws-sam-cli")
def test_sam_validate_lint_passes() -> None:
    result = subprocess.run(
        ["sam", "validate", "--lint", "--region", "us-east-1"],
        cwd=ROOT,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "is a valid SAM Template" in result.stdout, result.stdout + result.stderr

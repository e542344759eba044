"""`sqs-lambda[cli]` installs beside another moto, and `sqs-lambda local` runs on it (slow: a scratch venv).

The extra takes a range (`moto[server]>=5.1,<6`); the engine's speed-ups apply to the moto they were
verified on only, and on any other the local runtime runs plain moto and says so in one line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("moto", ["5.1.22", "latest"])
def test_local_runs_beside_another_moto(tmp_path: Path, moto: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k not in ("PIP_CONSTRAINT",) and not k.startswith("AWS_")}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wanted = "moto[server]" + ("" if moto == "latest" else f"=={moto}")
    install = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", f"{ROOT}[cli]", wanted],
        env=environment,
        capture_output=True,
        text=True,
        timeout=800,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('moto'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if moto != "latest":
        assert installed == moto
    cli = str(venv / "bin" / "sqs-lambda")
    assert subprocess.run([cli, "new", "app"], cwd=tmp_path, env=environment, capture_output=True).returncode == 0
    validated = subprocess.run([cli, "validate"], cwd=tmp_path / "app", env=environment, capture_output=True, text=True)
    assert validated.returncode == 0 and "0 error(s)" in validated.stdout, validated.stdout + validated.stderr
    local = subprocess.run(
        [cli, "local", "--demo", "--until-idle", "--json", "--timeout", "120"],
        cwd=tmp_path / "app",
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert local.returncode == 0, local.stdout[-2000:] + local.stderr[-2000:]
    events = [json.loads(line) for line in local.stdout.splitlines()]
    notices = [e["message"] for e in events if e["event"] == "warning" and "moto" in e["message"]]
    if installed == "5.2.5":
        assert notices == []
    else:
        assert notices == [
            f"moto {installed}: the embedded engine runs plain moto (its speed-ups were verified on "
            "5.2.5 only); correct, but slower in deep queues"
        ]
    assert events[-1]["event"] == "summary" and events[-1]["dead_letters"] == 1

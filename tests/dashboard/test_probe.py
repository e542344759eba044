"""The send form's jobs come from a probe process with the function's code and environment, so the local
runtime's process still imports no function code."""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

import pytest

from sqs_lambda.errors import JobArgumentError
from sqs_lambda_dev.dashboard.probe import Probe, ProbedRouter
from sqs_lambda_testing.sqs import LocalSqs
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function

APP = """
import os

from sqs_lambda import Router

print("importing app")  # a module that prints: the probe's answers must not be disturbed
REGION = os.environ["TABLE_NAME"]  # needs the function's own environment
router = Router()


@router.job()
def resize(width: int, label: str = "x") -> None:
    pass


lambda_handler = router.lambda_handler
"""


def probe_of(directory: Path, app: str, **variables: str) -> Probe:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(app)
    environment = {**os.environ, "_HANDLER": "app.lambda_handler", **variables}
    return Probe("Worker", directory, environment)


def test_a_probe_reads_the_jobs_and_checks_arguments_in_its_own_process(tmp_path: Path) -> None:
    probe = probe_of(tmp_path / "worker", APP, TABLE_NAME="files")
    try:
        jobs = ProbedRouter(probe).jobs
        assert list(jobs) == ["resize"]
        assert [field["name"] for field in jobs["resize"].fields] == ["width", "label"]
        assert jobs["resize"].validate({"width": 3}) == {"width": 3}
        with pytest.raises(JobArgumentError, match="Expected `int`"):
            jobs["resize"].validate({"width": "wide"})
    finally:
        probe.close()
    assert "sqs_lambda_local_Worker" not in sys.modules


def test_a_function_that_cannot_be_imported_gives_no_jobs_and_no_crash(tmp_path: Path) -> None:
    probe = probe_of(tmp_path / "worker", APP)  # no TABLE_NAME: its import fails
    try:
        assert ProbedRouter(probe).jobs == {}
        assert "KeyError" in probe.ask({"op": "jobs"})["error"]
    finally:
        probe.close()


def test_the_local_dashboard_reads_jobs_without_importing_function_code(sqs_local: LocalSqs, tmp_path: Path) -> None:
    from sqs_lambda_dev.dashboard import serve_local
    from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    function = sqs_function("app.lambda_handler", "Jobs", environment={"TABLE_NAME": "files"})
    template = sam_template({**queue_with_dlq("Jobs", queue_name="probe-jobs"), "Fn": function})
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    runtime = LocalRuntime(
        RuntimeOptions(template=tmp_path / "template.yaml", endpoint_url=sqs_local.url, state_dir=tmp_path / ".s")
    )
    runtime.start()
    server = serve_local(runtime)
    try:
        with urllib.request.urlopen(server.url + "api/jobs", timeout=30) as response:
            jobs = json.loads(response.read())
        assert jobs["resize"]["queue"] == "probe-jobs"
        assert [field["name"] for field in jobs["resize"]["fields"]] == ["width", "label"]
        assert not [name for name in sys.modules if name.startswith("sqs_lambda_local_")]
    finally:
        server.stop()
        runtime.stop()

"""`sqs-lambda local` as a dev server (#20, item 7): one per directory, and code changes reach new
environments without a restart."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions, state_path
from sqs_lambda_testing.templates import sqs_function

from .conftest import queue_pair

VERSION_ONE = """
import json, os


def handler(event, context):
    with open(os.environ["LOG_FILE"], "a") as out:
        out.write(json.dumps({"version": 1, "pid": os.getpid()}) + "\\n")
"""


def versions(log: Path) -> list[int]:
    return [json.loads(line)["version"] for line in log.read_text().splitlines()] if log.exists() else []


def app(log: Path) -> dict[str, Any]:
    function = sqs_function("app.handler", "Jobs", code_uri="code/", environment={"LOG_FILE": str(log)}, BatchSize=1)
    return {**queue_pair("Jobs"), "Fn": function}


@pytest.mark.parametrize("reload", [True, False])
def test_a_code_change_retires_the_environments_unless_no_reload(run_local: Any, tmp_path: Path, reload: bool) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(VERSION_ONE)
    run = run_local(app, reload=reload)
    run.send("Jobs", "a")
    run.wait_for(lambda: versions(run.log_file) == [1])
    time.sleep(1.1)  # a new modification time, whatever the file system's resolution
    (tmp_path / "code" / "app.py").write_text(VERSION_ONE.replace('"version": 1', '"version": 2'))
    if reload:
        run.wait_for(lambda: bool(run.events_of("reload")), seconds=10)
        (event,) = run.events_of("reload")
        assert event["function"] == run.runtime.functions["Fn"].name and "app.py" in event["changed"]
    else:
        time.sleep(2.5)
        assert run.events_of("reload") == []
    run.send("Jobs", "b")
    run.wait_for(lambda: len(versions(run.log_file)) == 2)
    assert versions(run.log_file) == ([1, 2] if reload else [1, 1])
    assert len(run.events_of("cold-start")) == (2 if reload else 1)


def test_a_second_runtime_in_the_same_directory_is_refused_naming_the_first(run_local: Any, tmp_path: Path) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(VERSION_ONE)
    first = run_local(app)
    second = LocalRuntime(RuntimeOptions(template=tmp_path / "template.yaml", state_dir=tmp_path / ".state"))
    second_pid_state = json.loads(state_path(tmp_path / ".state").read_text())
    assert second_pid_state["pid"] == os.getpid()  # written by the first
    # The first one runs in this very process here; pretend the state file is another live process's.
    state_path(tmp_path / ".state").write_text(json.dumps({**second_pid_state, "pid": os.getppid()}))
    with pytest.raises(ConfigurationError, match=rf"already runs in this directory \(pid {os.getppid()}, http"):
        second.start()
    assert first.runtime.template is not None


def test_a_stale_state_file_is_replaced(tmp_path: Path, sqs_local: Any) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "app.py").write_text(VERSION_ONE)
    from sqs_lambda_testing.templates import sam_template

    (tmp_path / "template.yaml").write_text(json.dumps(sam_template(app(tmp_path / "log"), stage="stale")))
    state = tmp_path / ".state"
    state.mkdir()
    state_path(state).write_text(
        json.dumps({"pid": 2**22 + 12345, "endpoint_url": "http://127.0.0.1:1"})
    )  # no such pid
    runtime = LocalRuntime(
        RuntimeOptions(template=tmp_path / "template.yaml", endpoint_url=sqs_local.url, state_dir=state)
    )
    try:
        runtime.start()
        assert json.loads(state_path(state).read_text())["pid"] == os.getpid()
    finally:
        runtime.stop()

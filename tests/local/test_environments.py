"""Each function runs in execution environments of its own, as in Lambda (issue #13's done-when list)."""

from __future__ import annotations

import json
import os
import textwrap
import time
from pathlib import Path
from typing import Any

from sqs_lambda_testing.templates import sqs_function

from .conftest import queue_pair

RECORDER = """
import json, os, sys, time


def record(**fields):
    with open(os.environ["LOG_FILE"], "a") as out:
        out.write(json.dumps({"pid": os.getpid(), **fields}) + "\\n")
"""


def write(directory: Path, files: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text))


def on(queue: str, code_uri: str, log: Path, *, timeout: int = 10, **variables: Any) -> dict[str, Any]:
    environment = {"LOG_FILE": str(log), **variables}
    return sqs_function("app.handler", queue, code_uri=code_uri, timeout=timeout, environment=environment, BatchSize=1)


def test_same_named_sibling_modules_stay_with_their_function(run_local: Any, tmp_path: Path) -> None:
    for name in ("a", "b"):
        write(
            tmp_path / name,
            {
                "helpers.py": f"WHO = {name!r}\n",
                "app.py": RECORDER + "import helpers\n\ndef handler(event, context):\n    record(who=helpers.WHO)\n",
            },
        )
    run = run_local(
        lambda log: {**queue_pair("A"), **queue_pair("B"), "FnA": on("A", "a/", log), "FnB": on("B", "b/", log)}
    )
    run.send("A", "x")
    run.send("B", "y")
    run.wait_for(lambda: len(run.log()) == 2)
    assert sorted(entry["who"] for entry in run.log()) == ["a", "b"]
    assert len({entry["pid"] for entry in run.log()}) == 2
    assert os.getpid() not in {entry["pid"] for entry in run.log()}  # never in the runtime's own process


def test_a_handler_past_its_timeout_is_stopped_and_does_nothing_afterwards(run_local: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "slow",
        {
            "app.py": RECORDER
            + """
def handler(event, context):
    attempt = event["Records"][0]["attributes"]["ApproximateReceiveCount"]
    record(step="started", attempt=attempt)
    if attempt == "1":
        time.sleep(3)
        record(step="after the deadline", attempt=attempt)
    return {}
"""
        },
    )
    run = run_local(lambda log: {**queue_pair("Q", visibility=2), "Fn": on("Q", "slow/", log, timeout=1)})
    run.send("Q", "x")
    run.wait_for(lambda: run.total("Q") == 0, seconds=30)
    time.sleep(3)  # long enough for the first attempt to have finished, had it not been stopped
    assert [(e["step"], e["attempt"]) for e in run.log()] == [("started", "1"), ("started", "2")]
    first, second = run.log()
    assert first["pid"] != second["pid"]  # the timed-out environment was replaced
    assert any(line.endswith("Task timed out after 1.00 seconds") for line in run.lines())
    assert any("Status: timeout" in line for line in run.lines() if line.startswith("REPORT"))
    assert run.events_of("timeout") and run.runtime.functions["Fn"].stats.timeouts == 1
    assert sum(t.stats.whole_batch_failures for t in run.runtime.triggers.values()) == 1


def test_module_level_clients_see_their_own_functions_environment(
    run_local: Any, tmp_path: Path, sqs_local: Any
) -> None:
    code = (
        RECORDER
        + """
import subprocess
import boto3

client = boto3.client("sqs")  # built at import, as real functions do
SEEN = {
    "who": os.environ["WHO"],
    "only_a": os.environ.get("ONLY_A"),
    "child_only_a": subprocess.check_output(
        [sys.executable, "-c", "import os; print(os.environ.get('ONLY_A'))"], text=True
    ).strip(),
    "endpoint": client.meta.endpoint_url,
    "function_name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
    "task_root": os.environ["LAMBDA_TASK_ROOT"],
    "handler": os.environ["_HANDLER"],
    "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
    "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
    "path": sys.path[:2],
}


def handler(event, context):
    record(remaining=context.get_remaining_time_in_millis(), name=context.function_name, **SEEN)
"""
    )
    write(tmp_path / "a", {"app.py": code})
    write(tmp_path / "b", {"app.py": code})
    run = run_local(
        lambda log: {
            **queue_pair("A"),
            **queue_pair("B"),
            "FnA": on("A", "a/", log, WHO="a", ONLY_A="secret-of-a"),
            "FnB": on("B", "b/", log, timeout=5, WHO="b"),
        }
    )
    run.send("A", "x")
    run.send("B", "y")
    run.wait_for(lambda: len(run.log()) == 2)
    seen = {entry["who"]: entry for entry in run.log()}
    assert (seen["a"]["only_a"], seen["a"]["child_only_a"]) == ("secret-of-a", "secret-of-a")
    assert (seen["b"]["only_a"], seen["b"]["child_only_a"]) == (None, "None")
    assert "ONLY_A" not in os.environ
    for who in ("a", "b"):
        entry = seen[who]
        assert entry["endpoint"] == sqs_local.url
        assert entry["function_name"] == entry["name"] == run.runtime.functions[f"Fn{who.upper()}"].name
        assert entry["task_root"] == str(tmp_path / who) and entry["task_root"] in entry["path"]
        assert entry["handler"] == "app.handler" and entry["memory"] == "128"
        assert entry["runtime_api"].startswith("127.0.0.1:")
    assert 0 < seen["b"]["remaining"] <= 5000 and 5000 < seen["a"]["remaining"] <= 10000


def test_an_import_error_is_an_init_error_and_the_batch_returns(run_local: Any, tmp_path: Path) -> None:
    write(tmp_path / "broken", {"app.py": "import no_such_module\n\ndef handler(event, context):\n    pass\n"})
    run = run_local(lambda log: {**queue_pair("Q", visibility=1), "Fn": on("Q", "broken/", log)})
    run.send("Q", "x")
    run.wait_for(lambda: bool(run.events_of("init-error")))
    run.wait_for(lambda: any("No module named" in line for line in run.lines()))  # read from its output
    assert "Runtime.ImportModuleError" in run.events_of("init-error")[0]["error"]
    assert any(line.startswith("INIT_REPORT") and "Status: error" in line for line in run.lines())
    assert any("No module named 'no_such_module'" in line for line in run.lines())  # the client's own report
    assert run.total("Q") == 1  # not deleted: back in the queue after its visibility timeout
    write(tmp_path / "broken", {"app.py": RECORDER + "def handler(event, context):\n    record(ok=True)\n"})
    run.wait_for(lambda: len(run.log()) == 1)  # the next delivery inits again, as Lambda does
    run.wait_for(lambda: run.total("Q") == 0)
    assert run.runtime.functions["Fn"].stats.init_errors >= 1


def test_a_warm_environment_is_reused_without_a_second_init(run_local: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "warm",
        {
            "app.py": RECORDER
            + """
INITS = [time.time()]
calls = []


def handler(event, context):
    calls.append(1)
    record(calls=len(calls), inits=len(INITS))
"""
        },
    )
    run = run_local(lambda log: {**queue_pair("Q"), "Fn": on("Q", "warm/", log)})
    run.send("Q", "1")
    run.wait_for(lambda: len(run.log()) == 1)
    run.send("Q", "2")
    run.wait_for(lambda: len(run.log()) == 2)
    first, second = run.log()
    assert first["pid"] == second["pid"] and (first["calls"], second["calls"]) == (1, 2)
    assert run.runtime.functions["Fn"].stats.cold_starts == 1
    run.wait_for(lambda: len(run.events_of("report")) == 2)  # the REPORT follows the handler's own output
    reports = run.events_of("report")
    assert [r["init_ms"] is not None for r in reports] == [True, False]  # Init Duration on the cold start only
    assert "Init Duration:" in reports[0]["line"] and "Init Duration:" not in reports[1]["line"]
    assert all(r["max_memory_mb"] and r["max_memory_mb"] > 5 for r in reports)
    starts = [line for line in run.lines() if line.startswith("START RequestId:")]
    ends = [line for line in run.lines() if line.startswith("END RequestId:")]
    assert len(starts) == len(ends) == 2 and reports[0]["request_id"] in starts[0]


def test_a_crashed_environment_fails_its_batch_and_is_replaced(run_local: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "crash",
        {
            "app.py": RECORDER
            + """
def handler(event, context):
    attempt = event["Records"][0]["attributes"]["ApproximateReceiveCount"]
    record(attempt=attempt)
    if attempt == "1":
        os._exit(3)
"""
        },
    )
    run = run_local(lambda log: {**queue_pair("Q", visibility=1), "Fn": on("Q", "crash/", log)})
    run.send("Q", json.dumps({"n": 1}))
    run.wait_for(lambda: run.total("Q") == 0)
    first, second = run.log()
    assert (first["attempt"], second["attempt"]) == ("1", "2") and first["pid"] != second["pid"]
    assert any("Runtime exited with error: exit status 3" in line for line in run.lines())
    assert run.runtime.functions["Fn"].stats.crashes == 1


def test_a_duplicate_delivery_of_an_idempotent_job_is_skipped_and_logged(run_local: Any, tmp_path: Path) -> None:
    write(
        tmp_path / "once",
        {
            "app.py": RECORDER
            + """
from sqs_lambda import Router

router = Router()


@router.job(idempotent=True)
def charge(order: str) -> None:
    record(order=order)


handler = router.lambda_handler
"""
        },
    )
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
        },
    }
    run = run_local(
        lambda log: {
            **queue_pair("Q"),
            "Keys": table,
            "Fn": on("Q", "once/", log, SQS_LAMBDA_IDEMPOTENCY_TABLE={"Ref": "Keys"}),
        }
    )
    from sqs_lambda.wire import envelope as wire

    body, _ = wire.encode("charge", {"order": "o-1"})
    run.send("Q", body)
    run.wait_for(lambda: len(run.log()) == 1)
    run.send("Q", body)  # the same envelope again: a redelivery, or a producer's retry
    run.wait_for(lambda: any("duplicate skipped" in line for line in run.lines()))
    run.wait_for(lambda: run.total("Q") == 0)
    assert [entry["order"] for entry in run.log()] == ["o-1"]
    (skipped,) = [json.loads(line) for line in run.lines() if "duplicate skipped" in line]
    assert skipped["level"] == "INFO" and skipped["job"] == "charge"


def test_a_dead_idle_environment_is_replaced_before_it_gets_a_batch(run_local: Any, tmp_path: Path) -> None:
    """#26: the pool used to hand the next batch to an idle environment that had died (Runtime.ExitError,
    and the batch's records lost a receive)."""
    import signal

    write(
        tmp_path / "fn",
        {
            "app.py": RECORDER
            + "\ndef handler(event, context):\n"
            + "    record(attempt=event['Records'][0]['attributes']['ApproximateReceiveCount'])\n"
        },
    )
    run = run_local(lambda log: {**queue_pair("Q"), "Fn": on("Q", "fn/", log)})
    run.send("Q", "first")
    run.wait_for(lambda: len(run.log()) == 1)
    pool = run.runtime.functions["Fn"]
    run.wait_for(lambda: len(pool._idle) == 1)
    (idle,) = pool._idle
    assert idle.process is not None
    os.kill(idle.process.pid, signal.SIGKILL)  # dies while idle, as a crashed sandbox would
    run.wait_for(lambda: idle.exited.is_set())
    run.send("Q", "second")
    run.wait_for(lambda: len(run.log()) == 2)
    first, second = run.log()
    assert second["attempt"] == "1" and second["pid"] != first["pid"]  # a fresh environment, first delivery
    assert pool.stats.cold_starts == 2 and pool.stats.crashes == 0
    assert not any(t.stats.whole_batch_failures for t in run.runtime.triggers.values())

"""The ``sqs-lambda`` command, run as a user runs it (a subprocess), against the embedded endpoint."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqs_lambda import Router
from sqs_lambda_testing.sqs import LocalSqs, QueuePair

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "sqs_lambda_dev.cli"]


def cli(
    *args: str,
    cwd: Path | None = None,
    endpoint: str | None = None,
    check: bool = True,
    timeout: float = 120,
    input_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    command = [*CLI, *args] + (["--endpoint-url", endpoint] if endpoint else [])
    result = subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout, input=input_text
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def test_send_peek_and_status(sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path) -> None:
    sent = cli(
        "send",
        "process_file",
        "--kwargs",
        '{"file_id": "42"}',
        "--queue",
        sqs_queue.url,
        endpoint=sqs_local.url,
        cwd=tmp_path,
    )
    assert len(sent.stdout.strip()) >= 32
    assert f"target: endpoint {sqs_local.url}" in sent.stderr
    peeked = cli("peek", sqs_queue.url, "-n", "5", endpoint=sqs_local.url, cwd=tmp_path)
    (message,) = json.loads(peeked.stdout)  # one JSON document: the array of decoded messages
    assert message["job"] == "process_file" and message["kwargs"] == {"file_id": "42"}
    assert sqs_local.counts(sqs_queue.url)["visible"] == 1  # visibility returned at once
    as_table = cli("peek", sqs_queue.url, "--output", "table", endpoint=sqs_local.url, cwd=tmp_path).stdout
    assert "process_file" in as_table and "file_id" in as_table and "│" in as_table
    status = cli("status", sqs_queue.name, endpoint=sqs_local.url, cwd=tmp_path)
    row = next(line for line in status.stdout.splitlines() if sqs_queue.name in line)
    assert row.split("│")[2].strip() == "1" and f"0 ({sqs_queue.name}-dlq)" in row
    rows = json.loads(cli("status", sqs_queue.name, "-o", "json", endpoint=sqs_local.url, cwd=tmp_path).stdout)
    assert rows == [
        {
            "queue": sqs_queue.name,
            "url": sqs_queue.url,
            "visible": 1,
            "in_flight": 0,
            "delayed": 0,
            "dlq": f"{sqs_queue.name}-dlq",
            "dlq_depth": 0,
            "oldest_age_seconds": None,
        }
    ]


def test_bad_input_is_one_line(sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path) -> None:
    result = cli(
        "send", "job", "--kwargs", "{nope", "--queue", sqs_queue.url, endpoint=sqs_local.url, cwd=tmp_path, check=False
    )
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: not valid JSON")
    missing = cli("status", "no-such-queue", endpoint=sqs_local.url, cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "error: queue not found: no-such-queue" in missing.stderr
    assert "Traceback" not in missing.stderr
    down = cli("status", "jobs", endpoint="http://127.0.0.1:9", cwd=tmp_path, check=False)
    assert down.returncode == 2 and "cannot reach the endpoint" in down.stderr


def test_purge_guards_the_stage_prefix(sqs_local: LocalSqs, tmp_path: Path) -> None:
    pair = sqs_local.create_queue_pair("qa-purgeme")
    other = sqs_local.create_queue_pair("prod-keepme")
    for url in (pair.url, other.url):
        sqs_local.client.send_message(QueueUrl=url, MessageBody="x")
    refused = cli("purge", other.url, "--yes", "--stage", "qa", endpoint=sqs_local.url, cwd=tmp_path, check=False)
    assert refused.returncode == 2 and "does not start with the stage prefix 'qa-'" in refused.stderr
    declined = cli(
        "purge", pair.url, "--stage", "qa", endpoint=sqs_local.url, cwd=tmp_path, check=False, input_text="n\n"
    )
    assert declined.returncode == 1 and sqs_local.total(pair.url) == 1
    cli("purge", "purgeme", "--yes", "--stage", "qa", endpoint=sqs_local.url, cwd=tmp_path)
    assert sqs_local.total(pair.url) == 0 and sqs_local.total(other.url) == 1


def test_wait_exits_1_on_timeout_and_0_when_empty(sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path) -> None:
    sqs_local.client.send_message(QueueUrl=sqs_queue.url, MessageBody="x")
    late = cli("wait", sqs_queue.url, "--timeout", "1", endpoint=sqs_local.url, cwd=tmp_path, check=False)
    assert late.returncode == 1
    sqs_local.client.purge_queue(QueueUrl=sqs_queue.url)
    assert cli("wait", sqs_queue.url, "--timeout", "5", endpoint=sqs_local.url, cwd=tmp_path).returncode == 0


def test_local_flag_without_a_runtime_never_falls_back(tmp_path: Path) -> None:
    result = cli("status", "--local", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "no local runtime is running here" in result.stderr


def test_a_running_local_runtime_blocks_accidental_aws(tmp_path: Path) -> None:
    state = tmp_path / ".sqs-lambda"
    state.mkdir()
    (state / "local.json").write_text(
        json.dumps({"pid": os.getpid(), "endpoint_url": "http://127.0.0.1:9", "stage": "dev", "queues": {}, "dlqs": []})
    )
    result = cli("status", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "pass --local to use it, or --aws" in result.stderr


def test_validate_command(tmp_path: Path) -> None:
    good = cli("validate", str(ROOT / "template.yaml"))
    assert "0 error(s)" in good.stdout
    bad = json.loads((ROOT / "tests" / "cli" / "bad-template.json").read_text())
    (tmp_path / "t.yaml").write_text(json.dumps(bad))
    result = cli("validate", str(tmp_path / "t.yaml"), check=False)
    assert result.returncode == 1 and "visibility timeout 30s is below" in " ".join(result.stdout.split())


def test_local_demo_until_idle_json(tmp_path: Path) -> None:
    result = cli(
        "local",
        "--template",
        str(ROOT / "template.yaml"),
        "--demo",
        "--until-idle",
        "--json",
        "--timeout",
        "120",
        cwd=tmp_path,
        timeout=180,
    )
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith('{"event"')]
    summary = next(e for e in events if e["event"] == "summary")
    files = summary["files"]
    assert {name: f["status"] for name, f in files.items()} == {
        "report.txt": "PROCESSED",
        "notes.md": "PROCESSED",
        "data.csv": "PROCESSED",
        "forgotten.txt": "PROCESSED",
        "large.log": "PROCESSED",
        "photo.png": "FAILED",
    }
    assert files["report.txt"]["lines_count"] == "3"
    # its job was over SQS's 1 MiB: it travelled as an S3 pointer, resolved by the worker's router
    assert files["large.log"]["lines_count"] == "30000" and int(files["large.log"]["file_size"]) > 1_048_576
    reports = [e for e in events if e["event"] == "report"]
    assert any(e["init_ms"] is not None for e in reports) and all(e["max_memory_mb"] for e in reports)
    assert summary["ledgers"] == {
        "acme": ["created", "paid", "shipped", "delivered"],
        "globex": ["created", "cancelled"],
    }
    (dead,) = summary["dead_letters"]["dev-jobs-dlq"]
    assert dead["job"] == "process_file" and dead["failure"]["error_type"] == "Reject"
    assert "not a text file" in dead["failure"]["error_message"]
    assert any(e["event"] == "engine" and e["url"].startswith("http://127.0.0.1:") for e in events)
    (api,) = [e for e in events if e["event"] == "http-api"]  # the story starts with POST /files
    assert api["url"].startswith("http://127.0.0.1:") and api["routes"] == "POST /files"
    posted = [e for e in events if e["event"] == "http"]
    assert len(posted) == 5 and all(e["route"] == "POST /files" and e["status"] == 202 for e in posted)
    assert not (tmp_path / ".sqs-lambda" / "local.json").exists()  # the state file is removed on exit
    # The story names every thread, and the counts tell ok from dead-lettered (#20, item 11)
    story = " | ".join(summary["story"])
    assert "large.log: 1.6 MiB sent inline" in story and "travelled as an S3 pointer: PROCESSED" in story
    assert "forgotten.txt: left in PENDING with no job; the scheduled sweep found it: PROCESSED" in story
    assert "dead-lettered to dev-jobs-dlq: process_file: file photo.png is not a text file" in story
    worker, api = summary["functions"]["dev-files-worker"], summary["functions"]["dev-files-api"]
    assert worker["dead_lettered"] == 1 and worker["succeeded"] == worker["records"] - 1
    assert api["invocations"] == 5  # POST /files: the API function's invocations are counted too


@pytest.mark.timeout(180)
def test_other_terminals_reach_the_running_runtime(tmp_path: Path) -> None:
    shutil.copy(ROOT / "template.yaml", tmp_path / "template.yaml")
    for folder in ("functions", "layer"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    runtime = subprocess.Popen(
        [*CLI, "local", "--json", "--stage", "e2e"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / ".sqs-lambda" / "local.json").exists():
            assert runtime.poll() is None, runtime.stderr.read() if runtime.stderr else ""
            assert time.monotonic() < deadline
            time.sleep(0.2)

        def send_order(kwargs: str, check: bool = True) -> subprocess.CompletedProcess[str]:
            arguments = ["apply_order_event", "--kwargs", kwargs, "--queue", "OrdersQueue", "--group", "t1"]
            return cli("send", *arguments, "--local", cwd=tmp_path, check=check)

        sent = send_order('{"tenant": "t1", "sequence": 1, "action": "created"}')
        assert "target: local runtime at http://127.0.0.1:" in sent.stderr and "(stage e2e)" in sent.stderr
        refused = send_order('{"tenant": "t1", "sequence": "x", "action": "a"}', check=False)
        assert refused.returncode == 2 and "Expected `int`, got `str`" in refused.stderr
        typo = cli("send", "proces_file", "--kwargs", '{"file_id": "x"}', "--local", cwd=tmp_path, check=False)
        assert typo.returncode == 2 and "no job named 'proces_file' is registered" in typo.stderr
        assert "did you mean 'process_file'?" in typo.stderr and "--force" in typo.stderr
        forced = cli(
            "send", "proces_file", "--kwargs", "{}", "--queue", "JobsQueue", "--force", "--local", cwd=tmp_path
        )
        assert len(forced.stdout.strip()) >= 32  # sent anyway: the consumer rejects it to the DLQ, with the reason
        assert cli("wait", "OrdersQueue", "--local", "--timeout", "30", cwd=tmp_path).returncode == 0
        status = cli("status", "--local", cwd=tmp_path).stdout
        assert "e2e-jobs" in status and "e2e-orders.fifo" in status
    finally:
        runtime.send_signal(2)
        output, _ = runtime.communicate(timeout=60)
    assert runtime.returncode == 0
    invocations = [json.loads(line) for line in output.splitlines() if '"event": "invoke"' in line]
    assert sum(e["succeeded"] for e in invocations if e["function"] == "e2e-orders") == 1
    assert not (tmp_path / ".sqs-lambda" / "local.json").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    quiet = cli("status", "--local", cwd=tmp_path, check=False)
    loud = cli("--debug", "status", "--local", cwd=tmp_path, check=False)
    assert "Traceback" not in quiet.stderr and "Traceback" in loud.stderr


def test_status_watch_refreshes_until_interrupted(sqs_local: LocalSqs, sqs_queue: QueuePair, tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    watch = subprocess.Popen(
        [*CLI, "status", sqs_queue.url, "--watch", "--endpoint-url", sqs_local.url],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    sqs_local.client.send_message(QueueUrl=sqs_queue.url, MessageBody="x")
    time.sleep(3)
    watch.send_signal(2)
    output, _ = watch.communicate(timeout=30)
    assert watch.returncode == 0
    rows = [line for line in output.splitlines() if sqs_queue.name in line and "│" in line]
    assert rows and rows[-1].split("│")[2].strip() == "1"  # the refreshed view shows the new message


def test_region_and_profile_are_the_aws_clis(tmp_path: Path) -> None:
    from sqs_lambda_dev.endpoints import choose

    config = tmp_path / "config"
    config.write_text("[profile team]\nregion = eu-west-3\n")
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT"))
    }
    os_environ = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(
            {**environment, "AWS_CONFIG_FILE": str(config), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
        )
        from_profile = choose(use_aws=True, profile="team", state_dir=tmp_path)
        assert from_profile.backend.client().meta.region_name == "eu-west-3"
        assert "profile team" in from_profile.describe()
        overridden = choose(use_aws=True, profile="team", region="ap-south-1", state_dir=tmp_path)
        assert overridden.backend.client().meta.region_name == "ap-south-1"
    finally:
        os.environ.clear()
        os.environ.update(os_environ)
    missing = cli("status", "--aws", "--profile", "nope", cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "The config profile (nope) could not be found" in missing.stderr


def test_version_and_shell_completion(tmp_path: Path) -> None:
    import sqs_lambda

    assert cli("--version", cwd=tmp_path).stdout.strip() == f"sqs-lambda {sqs_lambda.__version__}"
    # What an installed completion script asks the CLI (the shell is named, not detected from the parent).
    environment = {
        **os.environ,
        "_SQS_LAMBDA_COMPLETE": "complete_bash",
        "COMP_WORDS": "sqs-lambda sta",
        "COMP_CWORD": "1",
    }
    completion = subprocess.run(CLI, env=environment, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert completion.returncode == 0 and completion.stdout.split() == ["status"], completion.stderr
    environment["_SQS_LAMBDA_COMPLETE"] = "source_bash"
    script = subprocess.run(CLI, env=environment, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert "complete -o default -F _sqs_lambda_completion sqs-lambda" in script.stdout


def test_event_builds_what_sam_local_invoke_takes(tmp_path: Path) -> None:

    arguments = ["event", "process_file", "--kwargs", '{"file_id": "42"}', "--count", "2", "--fifo", "--group", "t1"]
    built = json.loads(cli(*arguments, cwd=tmp_path).stdout)
    records = built["Records"]
    assert len(records) == 2 and {r["attributes"]["MessageGroupId"] for r in records} == {"t1"}
    assert records[0]["eventSourceARN"].endswith(":jobs.fifo") and records[0]["eventSource"] == "aws:sqs"
    assert len({r["messageId"] for r in records}) == 2
    router = Router()
    seen: list[str] = []

    @router.job()
    def process_file(file_id: str) -> None:
        seen.append(file_id)

    assert router.lambda_handler(built, None) == {"batchItemFailures": []}
    assert seen == ["42", "42"]
    raw = json.loads(cli("event", "--raw", "hello", cwd=tmp_path).stdout)
    assert raw["Records"][0]["body"] == "hello"
    neither = cli("event", cwd=tmp_path, check=False)
    assert neither.returncode == 2 and "give a JOB, or --raw BODY" in neither.stderr

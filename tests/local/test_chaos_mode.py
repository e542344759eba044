"""``sqs-lambda local --chaos``: the spec, the faulty SQS port, the ledger's report, and a whole run under
every fault that loses nothing, checked against the jobs' own side effects."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda.errors import ConfigurationError
from sqs_lambda_dev.local.chaos import Chaos, ChaosSpec, ChaosSqs
from sqs_lambda_dev.local.ledger import Ledger, report_lines
from sqs_lambda_testing import InMemoryQueue
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function


def test_a_spec_is_rates_and_a_seed_from_text_or_toml(tmp_path: Path) -> None:
    spec = ChaosSpec.parse("kills=0.1, duplicates=0.2,seed=7")
    assert (spec.kills, spec.duplicates, spec.lost_deletes, spec.seed) == (0.1, 0.2, 0.0, 7)
    project = tmp_path / "pyproject.toml"
    project.write_text("[tool.sqs-lambda.chaos]\nlost_deletes = 0.5\nseed = 3\n")
    assert ChaosSpec.parse(str(project)) == ChaosSpec(lost_deletes=0.5, seed=3)
    for text, error in [
        ("kils=0.1", "unknown fault 'kils' (known: kills, duplicates"),
        ("kills=2", "kills=2 is not a rate between 0 and 1"),
        ("kills", "'kills' is not NAME=VALUE"),
        ("seed=1", "no fault has a rate above 0"),
        ("skew=-5", "skew is a number of seconds, 0 or more"),
        ("kills=lots", "kills='lots' is not a number"),
    ]:
        with pytest.raises(ConfigurationError, match=re.escape(error)):
            ChaosSpec.parse(text)


def test_skew_puts_each_function_clock_off_within_its_bound() -> None:
    events: list[dict[str, Any]] = []
    chaos = Chaos(ChaosSpec.parse("skew=30,seed=4"), lambda kind, data: events.append(data))
    skews = [float(chaos.clock_skew(f"fn{n}")["SQS_LAMBDA_CLOCK_SKEW"]) for n in range(20)]
    assert all(-30 <= skew <= 30 for skew in skews) and min(skews) < 0 < max(skews)
    assert [event["fault"] for event in events] == ["skew"] * 20 and events[0]["function"] == "fn0"
    assert Chaos(ChaosSpec(kills=0.1), lambda kind, data: None).clock_skew("fn") == {}


def test_the_same_seed_injects_the_same_faults() -> None:
    def rolls(seed: int) -> list[bool]:
        chaos = Chaos(ChaosSpec(kills=0.5, seed=seed), lambda kind, data: None)
        return [chaos.roll("kills") for _ in range(50)]

    assert rolls(1) == rolls(1) and rolls(1) != rolls(2)
    assert 10 < sum(rolls(1)) < 40


def test_the_faulty_port_drops_deletes_and_fails_calls_as_sqs_would() -> None:
    events: list[tuple[str, dict[str, Any]]] = []
    queue = InMemoryQueue()
    for n in range(20):
        queue.send(queue.url, str(n))
    lossy = ChaosSqs(queue, Chaos(ChaosSpec(lost_deletes=1.0), lambda kind, data: events.append((kind, data))))
    received = queue.receive(queue.url, max_messages=10)
    assert lossy.delete(queue.url, [m["ReceiptHandle"] for m in received]) == []  # "succeeded"
    assert queue.counts(queue.url).total == 20  # nothing was deleted
    assert [data["fault"] for kind, data in events] == ["lost_deletes"] * 10
    failing = ChaosSqs(queue, Chaos(ChaosSpec(sqs_errors=1.0), lambda kind, data: None))
    with pytest.raises(ConnectionError, match="chaos: ReceiveMessage failed"):
        failing.receive(queue.url)
    assert len(failing.delete(queue.url, ["a", "b"])) == 2  # every entry answered as failed


def test_the_report_names_what_ran_twice_what_is_dead_and_what_is_lost() -> None:
    ledger = Ledger()

    def record(message_id: str, envelope_id: str) -> dict[str, Any]:
        body = json.dumps({"sqs_lambda": 1, "id": envelope_id, "job": "work", "kwargs": {}})
        return {"messageId": message_id, "body": body}

    ledger.saw([record("m1", "a"), record("m2", "b"), record("m3", "c")], ["m1", "m2"])
    ledger.saw([record("m4", "b")], ["m4"])  # b again: a lost delete or a duplicate
    dead = [{"envelope_id": "d", "job": "work", "failure": {"error_type": "Reject"}}]
    report = ledger.report(dead, {"lost_deletes": 1})
    assert report["jobs_sent"] == 4 and report["succeeded_once"] == 1
    assert report["succeeded_more_than_once"] == {"work b": 2}
    assert report["dead_lettered_with_reason"] == 1 and report["lost"] == ["work c"]
    assert "unfinished" in ledger.report(dead, {}, finished=False)
    assert any(line.strip().startswith("lost") and "work c" in line for line in report_lines(report))


def run_local(cwd: Path, *arguments: str) -> list[dict[str, Any]]:
    """``sqs-lambda local --demo --until-idle --json ARGUMENTS`` in ``cwd``, on its own embedded engine:
    its JSON events (the run asserted to have exited 0)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    command = [sys.executable, "-m", "sqs_lambda_dev.cli", "local", "--demo", "--until-idle", "--json", "--timeout"]
    run = subprocess.run(
        [*command, "300", *arguments], cwd=cwd, capture_output=True, text=True, timeout=380, env=environment
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]


APP = """
import os

from sqs_lambda import Reject, Router, backoff

router = Router(default_max_retries=8, default_backoff=backoff.constant(1), time_margin_ms=300)


@router.job()
def chaos(n: int, kind: str) -> None:
    if kind == "reject":
        raise Reject(f"no {n}")
    with open(os.environ["LEDGER"], "a") as out:  # the job's own side effect, one line per run
        out.write(f"{n}\\n")


lambda_handler = router.lambda_handler
"""

DEMO = """
from sqs_lambda import Producer

JOBS = 60


def enqueue(runtime):
    producer = Producer(runtime.resources.queue_urls["Jobs"], backend=runtime.backend)
    producer.send_many([("chaos", {"n": n, "kind": "reject" if n % 10 == 0 else "ok"}) for n in range(JOBS)])
    return {"message": f"{JOBS} chaos jobs sent"}


def outcome(runtime):
    return {}
"""


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_a_run_under_every_fault_loses_nothing_and_its_report_matches_the_side_effects(tmp_path: Path) -> None:
    template = sam_template(
        {
            **queue_with_dlq("Jobs", queue_name="chaos-jobs", visibility=6, max_receive_count=20),
            "Fn": sqs_function(
                "app.lambda_handler",
                "Jobs",
                timeout=2,
                environment={"LEDGER": str(tmp_path / "ledger.txt")},
                BatchSize=10,
                ScalingConfig={"MaximumConcurrency": 3},
            ),
        }
    )
    template["Metadata"] = {"SqsLambda": {"Demo": "demo.py"}}
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(textwrap.dedent(APP))
    (tmp_path / "demo.py").write_text(textwrap.dedent(DEMO))
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    spec = "kills=0.3,duplicates=0.1,lost_deletes=0.1,sqs_errors=0.1,delays=0.2,max_delay=0.5,seed=11"
    events = run_local(tmp_path, "--chaos", spec)
    report = next(event for event in events if event["event"] == "summary")["chaos"]
    faults = Counter(event["fault"] for event in events if event["event"] == "fault")
    assert report["faults"] == dict(faults) and set(faults) >= {"delays", "duplicates", "lost_deletes"}
    ran = Counter(int(line) for line in (tmp_path / "ledger.txt").read_text().split())
    assert report["lost"] == [] and report["dead_lettered_without_reason"] == []
    assert report["jobs_sent"] == 60 and report["dead_lettered_with_reason"] == 6  # n % 10 == 0: rejected
    assert set(ran) == {n for n in range(60) if n % 10}  # every other job ran, at least once
    assert report["succeeded_once"] + len(report["succeeded_more_than_once"]) == len(ran)
    assert len(report["succeeded_more_than_once"]) <= sum(1 for count in ran.values() if count > 1)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_example_process_file_has_no_duplicate_side_effect_under_duplicates(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    events = run_local(tmp_path, "--template", str(root / "template.yaml"), "--chaos", "duplicates=0.3,seed=1")
    summary = next(event for event in events if event["event"] == "summary")
    assert summary["chaos"]["lost"] == [] and summary["chaos"]["faults"]["duplicates"] >= 1
    processed = {name: f for name, f in summary["files"].items() if f["status"] == "PROCESSED"}
    assert len(processed) == 5 and all(int(f["processed_runs"]) == 1 for f in processed.values()), processed
    assert summary["story"][0].startswith("3 text files PROCESSED once each")


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_the_example_app_under_every_fault_loses_nothing_and_does_nothing_twice(tmp_path: Path) -> None:
    """The repository's example (API, worker, FIFO orders, the sweep) under every fault at high rates. Its
    timeouts are cut (function 5 s, visibility 8 s) so that a killed batch returns within seconds; the
    code, the functions and the demo are the example's own."""
    root = Path(__file__).resolve().parents[2]
    text = (root / "template.yaml").read_text()
    for before, after in [
        ("    Timeout: 30\n", "    Timeout: 5\n"),
        ("VisibilityTimeout: 180", "VisibilityTimeout: 8"),
        ("CodeUri: functions/", f"CodeUri: {root}/functions/"),
        ("ContentUri: layer", f"ContentUri: {root}/layer"),
        ("Demo: functions/", f"Demo: {root}/functions/"),
    ]:
        assert before in text, before
        text = text.replace(before, after)
    (tmp_path / "template.yaml").write_text(text)
    # Kills included: a killed batch returns after its visibility timeout and counts a receive, so a job
    # killed maxReceiveCount times is redriven by SQS without a reason (the sweep re-sends its file).
    spec = "kills=0.2,duplicates=0.2,lost_deletes=0.4,sqs_errors=0.2,delays=0.5,max_delay=0.5,skew=5,seed=2"
    events = run_local(tmp_path, "--chaos", spec)
    summary = next(event for event in events if event["event"] == "summary")
    report = summary["chaos"]
    assert report["lost"] == [], report  # nothing lost, whichever faults landed
    assert report["jobs_sent"] >= 13 and report["dead_lettered_with_reason"] >= 1  # photo.png's rejection
    files = summary["files"]
    processed = [name for name, f in files.items() if f["status"] == "PROCESSED"]
    assert set(processed) <= {"data.csv", "forgotten.txt", "large.log", "notes.md", "report.txt"}
    assert all(int(files[name]["processed_runs"]) == 1 for name in processed)  # no side effect twice
    assert files["photo.png"]["status"] == "FAILED"
    # FIFO: each tenant's applied events once and in order (an event that kills pushed past
    # maxReceiveCount went to the DLQ without a reason, as SQS does it, and is not applied)
    in_order = {"acme": ["created", "paid", "shipped", "delivered"], "globex": ["created", "cancelled"]}
    for tenant, actions in summary["ledgers"].items():
        assert [action for action in in_order[tenant] if action in actions] == actions, summary["ledgers"]


def test_a_run_that_lost_a_job_exits_1_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """Losing a job takes a bug (every fault above loses nothing), so the report is stood in for here: the
    CLI's contract is that a finished run whose report has a lost job exits 1 and says how many."""
    from typer.testing import CliRunner

    from sqs_lambda_dev.cli import app
    from sqs_lambda_dev.local.runtime import LocalRuntime

    template = sam_template({**queue_with_dlq("Jobs", queue_name="lost-jobs"), "Fn": sqs_function("app.h", "Jobs")})
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def h(event, context):\n    return {'batchItemFailures': []}\n")
    (tmp_path / "template.yaml").write_text(json.dumps(template))
    finished: list[bool] = []

    def report(self: LocalRuntime, *, finished_run: bool = True, **kwargs: Any) -> dict[str, Any]:
        finished.append(kwargs.get("finished", finished_run))
        return Ledger().report([], {"delays": 0}) | {"jobs_sent": 1, "lost": ["work 0123"]}

    monkeypatch.setattr(LocalRuntime, "chaos_report", report)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["local", "--until-idle", "--timeout", "60", "--chaos", "delays=0.1"])
    assert result.exit_code == 1 and finished == [True]
    assert "chaos: 1 job(s) lost (neither succeeded nor in a DLQ)" in capfd.readouterr().err + result.output

"""Chaos for effectively-once jobs, through the local runtime: transient failures (10 %), forced
redeliveries (jobs that outlive their short visibility timeout, 5 %) and duplicate sends (10 % sent
twice). With ``idempotent=True`` no side effect happens twice; the same run without it counts the
duplicates a standard queue causes, printed side by side.

Both profiles are slow suites (``-m slow``): 300 jobs per variant, and 5,000; ``CHAOS_ONCE_JOBS`` sets either.
"""

from __future__ import annotations

import json
import os
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sqs_lambda import aws
from sqs_lambda.producing.producer import Producer
from sqs_lambda.wire import envelope as wire
from sqs_lambda_dev.local.runtime import LocalRuntime, RuntimeOptions
from sqs_lambda_testing.templates import queue_with_dlq, sam_template, sqs_function

APP = '''
"""Each completed run appends its number to $LEDGER: the side effect that must happen once."""
import os, time

from sqs_lambda import Router, backoff
from sqs_lambda.observe import job_fields

router = Router(default_max_retries=6, default_backoff=backoff.constant(1))


@router.job(idempotent=os.environ["IDEMPOTENT"] == "true")
def effect(n: int, kind: str) -> None:
    attempt = job_fields()["attempt"]
    if kind == "transient" and attempt == 1:
        raise RuntimeError(f"transient failure of {n}")
    if kind == "slow" and attempt == 1:
        time.sleep(3)  # outlives the 2 s visibility: SQS delivers it again while it runs
    with open(os.environ["LEDGER"], "a") as out:
        out.write(f"{n}\\n")


lambda_handler = router.lambda_handler
'''


def kind_of(n: int) -> str:
    slot = n % 20
    return "transient" if slot < 2 else "slow" if slot == 2 else "ok"


def duplicated(n: int) -> bool:
    return n % 10 == 5


def run(jobs: int, idempotent: bool, endpoint: str, workdir: Path) -> Counter[int]:
    stage = f"o{uuid.uuid4().hex[:6]}"
    table = {
        "Type": "AWS::DynamoDB::Table",
        "Properties": {
            "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        },
    }
    environment = {
        "LEDGER": str(workdir / "ledger.txt"),
        "IDEMPOTENT": "true" if idempotent else "false",
        "SQS_LAMBDA_IDEMPOTENCY_TABLE": {"Ref": "Keys"},
    }
    function = sqs_function(
        "app.lambda_handler", "Jobs", timeout=6, environment=environment, ScalingConfig={"MaximumConcurrency": 4}
    )
    resources = {**queue_with_dlq("Jobs", queue_name=f"{stage}-once", visibility=2), "Keys": table, "Fn": function}
    (workdir / "src").mkdir(parents=True)
    (workdir / "src" / "app.py").write_text(textwrap.dedent(APP))
    (workdir / "template.yaml").write_text(json.dumps(sam_template(resources)))
    runtime = LocalRuntime(
        RuntimeOptions(template=workdir / "template.yaml", endpoint_url=endpoint, state_dir=workdir / ".state")
    )
    runtime.start()
    try:
        url = runtime.resources.queue_urls["Jobs"]
        Producer(url).send_many([("effect", {"n": n, "kind": kind_of(n)}) for n in range(jobs) if not duplicated(n)])
        sqs = aws.client("sqs")
        for n in filter(duplicated, range(jobs)):  # the same send twice: one envelope id, two messages
            body, _ = wire.encode("effect", {"n": n, "kind": kind_of(n)}, envelope_id=f"dup-{stage}-{n}")
            sqs.send_message(QueueUrl=url, MessageBody=body)
            sqs.send_message(QueueUrl=url, MessageBody=body)
        runtime.run_background()
        assert runtime.run_until_idle(timeout=max(180, jobs / 3), settle=4), runtime.queue_counts()
        assert runtime.queue_counts()["JobsDLQ"] == {"visible": 0, "in_flight": 0, "delayed": 0}
    finally:
        runtime.stop()
    return Counter(int(line) for line in (workdir / "ledger.txt").read_text().split())


def chaos(jobs: int, endpoint: str, tmp_path: Path) -> None:
    started = time.monotonic()
    once = run(jobs, True, endpoint, tmp_path / "once")
    plain = run(jobs, False, endpoint, tmp_path / "plain")
    for ledger in (once, plain):
        assert set(ledger) == set(range(jobs))  # nothing lost either way
    once_duplicates = sum(once.values()) - len(once)
    plain_duplicates = sum(plain.values()) - len(plain)
    print(
        f"\nchaos (effectively once): {jobs} jobs + {len(list(filter(duplicated, range(jobs))))} duplicate sends, "
        f"{time.monotonic() - started:.0f}s: idempotent jobs {once_duplicates} duplicate side effects; "
        f"the same jobs without idempotency {plain_duplicates}"
    )
    assert once_duplicates == 0
    assert plain_duplicates > 0  # the chaos does cause duplicates: the zero above is the idempotency's


def endpoint_for(sqs_local: Any) -> str:
    return os.environ.get("CHAOS_ENDPOINT") or sqs_local.url


@pytest.mark.slow  # the default run keeps idempotency's own tests and chaos mode's duplicates test
def test_chaos_effectively_once_fast_profile(sqs_local: Any, tmp_path: Path) -> None:
    chaos(int(os.environ.get("CHAOS_ONCE_JOBS", "300")), endpoint_for(sqs_local), tmp_path)


@pytest.mark.slow
def test_chaos_effectively_once_large_profile(sqs_local: Any, tmp_path: Path) -> None:
    chaos(int(os.environ.get("CHAOS_ONCE_JOBS", "5000")), endpoint_for(sqs_local), tmp_path)
